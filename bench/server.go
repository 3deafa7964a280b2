package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a `commonshelf serve` (or bare baseline) child process on a
// loopback port, whose CPU time and memory the scenarios read from /proc.
type Server struct {
	cmd    *exec.Cmd
	Base   string // http://127.0.0.1:PORT
	log    *os.File
	exited chan struct{}
}

// FreeAddr returns a free 127.0.0.1 address.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartProcess runs bin with args (which must include addr) and waits
// until GET readyPath answers 200. Its output goes to logPath.
func StartProcess(bin string, args []string, addr, readyPath, logPath string) (*Server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd, Base: "http://" + addr, log: logf, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Base + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			logf.Close()
			tail, _ := os.ReadFile(logPath)
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			return nil, fmt.Errorf("%s exited before it was ready: %s", filepath.Base(bin), strings.TrimSpace(string(tail)))
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.Stop()
	return nil, fmt.Errorf("%s did not become ready; see %s", filepath.Base(bin), logPath)
}

// StartCommonshelf serves config with the commonshelf binary.
func StartCommonshelf(bin, config, dataDir, logPath string) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return StartProcess(bin, []string{"serve", "--config", config, "--addr", addr, "--data-dir", dataDir}, addr, "/readyz", logPath)
}

// CPU is the process's user+system CPU time so far.
func (s *Server) CPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz
}

// RSS is the process's resident memory in bytes.
func (s *Server) RSS() int64 { return s.status("VmRSS:") }

// PeakRSS is the process's peak resident memory in bytes (VmHWM): since it
// started, or since the last ResetPeakRSS.
func (s *Server) PeakRSS() int64 { return s.status("VmHWM:") }

// ResetPeakRSS starts PeakRSS again from the current RSS (writing 5 to
// /proc/PID/clear_refs, Linux 4.0 and later), so that a phase's peak is not
// start-up's.
func (s *Server) ResetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

// SampleRSS reads RSS every interval until the returned function is
// called, which returns the largest value seen: a peak that does not rely
// on clear_refs.
func (s *Server) SampleRSS(every time.Duration) (stop func() int64) {
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var m int64
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m = max(m, s.RSS())
			select {
			case <-done:
				peak <- max(m, s.RSS())
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); return <-peak }
}

// status reads a kB field of /proc/PID/status, in bytes.
func (s *Server) status(field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// Get fetches path and returns status and body.
func (s *Server) Get(ctx context.Context, path string) (int, []byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// Stop ends the process (SIGTERM, then SIGKILL after 10s).
func (s *Server) Stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.log.Close()
}
