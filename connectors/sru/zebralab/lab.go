//go:build unix

// Package zebralab runs Index Data Zebra SRU servers on loopback, one per
// member library, for the SRU connector's end-to-end tests and for
// `make run-sru`: it checks that Zebra is installed (installing it with
// apt-get when it can), writes each member's configuration into its own
// directory, indexes MARCXML files with zebraidx, starts `zebrasrv -T` on a
// free 127.0.0.1 port, waits until it answers explain, and stops it.
//
// The configuration it writes (conf/) is the project's own: a DOM filter
// that reads one record per <record> of a MARCXML collection, indexes
// title, creator, subject, publisher, year, isbn, issn and id with ICU case
// and diacritic folding, returns marcxml as stored and dc through a small
// stylesheet, and maps the dc, bath, cql and rec CQL context sets.
package zebralab

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/commonshelf/commonshelf/connectors/marc"
)

//go:embed conf/*
var confFS embed.FS

// ErrNotInstalled is returned by Ensure when Zebra is missing and could not
// be installed.
var ErrNotInstalled = errors.New("zebra is not installed")

// InstallHint is the command that installs what the lab needs on Debian.
const InstallHint = "apt-get update && apt-get install -y idzebra-2.0 yaz"

var ensure struct {
	sync.Mutex
	ok bool
}

// Installed reports whether zebraidx and zebrasrv are on PATH.
func Installed() bool {
	_, e1 := exec.LookPath("zebraidx")
	_, e2 := exec.LookPath("zebrasrv")
	return e1 == nil && e2 == nil
}

// Ensure makes sure zebraidx and zebrasrv are on PATH. When they are not and
// the process runs as root, it installs the Debian packages idzebra-2.0 and
// yaz with apt-get (a minute or so); otherwise, or when that fails, it
// returns an error wrapping ErrNotInstalled that says what to run.
func Ensure(ctx context.Context, logger *slog.Logger) error {
	ensure.Lock()
	defer ensure.Unlock()
	if ensure.ok || Installed() {
		ensure.ok = true
		return nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: zebrasrv is not on PATH; as root, run: %s", ErrNotInstalled, InstallHint)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%w: zebrasrv is not on PATH and there is no apt-get to install it (Debian packages idzebra-2.0 and yaz)", ErrNotInstalled)
	}
	logger.Info("installing Zebra (idzebra-2.0, yaz) with apt-get")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "idzebra-2.0", "yaz"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: apt-get %s: %v: %s", ErrNotInstalled, args[0], err, tail(out, 600))
		}
	}
	if !Installed() {
		return fmt.Errorf("%w: apt-get finished but zebrasrv is still not on PATH", ErrNotInstalled)
	}
	ensure.ok = true
	return nil
}

func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Lab is a directory holding the configuration and the members' registers.
// Close stops every server it started.
type Lab struct {
	dir  string
	conf string
	log  *slog.Logger

	mu      sync.Mutex
	servers []*Server
}

// New prepares a lab in dir (created if missing): it writes the shared
// configuration into dir/conf. It does not check that Zebra is installed
// (see Ensure).
func New(logger *slog.Logger, dir string) (*Lab, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("zebralab: %w", err)
	}
	conf := filepath.Join(abs, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, fmt.Errorf("zebralab: %w", err)
	}
	entries, err := confFS.ReadDir("conf")
	if err != nil {
		return nil, fmt.Errorf("zebralab: %w", err)
	}
	for _, e := range entries {
		b, err := confFS.ReadFile("conf/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("zebralab: %w", err)
		}
		if err := os.WriteFile(filepath.Join(conf, e.Name()), b, 0o644); err != nil {
			return nil, fmt.Errorf("zebralab: %w", err)
		}
	}
	return &Lab{dir: abs, conf: conf, log: logger}, nil
}

// Dir is the lab's directory.
func (l *Lab) Dir() string { return l.dir }

// Member is one member library to serve.
type Member struct {
	// Name is the database name: the path of the member's URL
	// (http://127.0.0.1:PORT/Name). Letters, digits, '-' and '_'.
	Name string
	// Files are MARCXML collection files, gzipped or not, one record per
	// <record>; every record needs a 001 (the record's id in Zebra).
	Files []string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
}

// Server is one running zebrasrv.
type Server struct {
	Name string
	// URL is the member's SRU base URL, http://127.0.0.1:PORT/Name.
	URL  string
	Port int
	// Dir holds the member's configuration, register and logs.
	Dir string
	// Records is the number of records zebraidx indexed; IndexTook how long
	// indexing took.
	Records   int
	IndexTook time.Duration

	lab  *Lab
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Start indexes m's files into a fresh register under the lab and starts
// its server; it returns once the server answers an explain request.
func (l *Lab) Start(ctx context.Context, m Member) (*Server, error) {
	if !validName.MatchString(m.Name) {
		return nil, fmt.Errorf("zebralab: member name %q: use letters, digits, - and _", m.Name)
	}
	dir := filepath.Join(l.dir, m.Name)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("zebralab %s: %w", m.Name, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "reg"), 0o755); err != nil {
		return nil, fmt.Errorf("zebralab %s: %w", m.Name, err)
	}
	s := &Server{Name: m.Name, Dir: dir, lab: l}
	files, err := plainFiles(dir, m.Files)
	if err != nil {
		return nil, fmt.Errorf("zebralab %s: %w", m.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zebra.cfg"), []byte(zebraCfg(l.conf)), 0o644); err != nil {
		return nil, fmt.Errorf("zebralab %s: %w", m.Name, err)
	}
	start := time.Now()
	if err := s.index(ctx, files); err != nil {
		return nil, err
	}
	s.IndexTook = time.Since(start)
	for attempt := 0; ; attempt++ {
		port := m.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, fmt.Errorf("zebralab %s: %w", m.Name, err)
			}
		}
		err = s.serve(ctx, port)
		if err == nil {
			break
		}
		// Another process may have taken a port picked as free; try others.
		if m.Port != 0 || attempt == 4 || !errors.Is(err, errBind) {
			return nil, err
		}
	}
	l.mu.Lock()
	l.servers = append(l.servers, s)
	l.mu.Unlock()
	l.log.Info("zebra member ready", "member", m.Name, "url", s.URL, "records", s.Records,
		"indexed_in", s.IndexTook.Round(time.Millisecond).String())
	return s, nil
}

// plainFiles returns absolute paths of uncompressed copies of files:
// gzipped ones are expanded into dir, others used in place.
func plainFiles(dir string, files []string) ([]string, error) {
	if len(files) == 0 {
		return nil, errors.New("no catalogue files")
	}
	var out []string
	for i, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		in, err := os.Open(abs)
		if err != nil {
			return nil, err
		}
		br := bufio.NewReader(in)
		magic, _ := br.Peek(2)
		if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
			in.Close()
			out = append(out, abs)
			continue
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("gunzip %s: %w", f, err)
		}
		dst := filepath.Join(dir, fmt.Sprintf("data-%d.xml", i))
		outF, err := os.Create(dst)
		if err == nil {
			_, err = io.Copy(outF, zr)
			if cerr := outF.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			return nil, fmt.Errorf("gunzip %s: %w", f, err)
		}
		out = append(out, dst)
	}
	return out, nil
}

// tabDirs are where Debian's idzebra-2.0 keeps bib1.att and the character
// maps.
var tabDirs = []string{"/usr/share/idzebra-2.0/tab", "/usr/local/share/idzebra-2.0/tab"}

func zebraCfg(conf string) string {
	tab := tabDirs[0]
	for _, d := range tabDirs {
		if _, err := os.Stat(filepath.Join(d, "bib1.att")); err == nil {
			tab = d
			break
		}
	}
	return fmt.Sprintf(`# written by zebralab
profilePath: %s:%s
recordType: dom.dom-config.xml
index: lab.idx
attset: bib1.att
attset: explain.att
encoding: utf-8
storeData: 1
storeKeys: 1
register: reg:1G
lockdir: reg
keytmpdir: reg
`, conf, tab)
}

var recordsLine = regexp.MustCompile(`Records:\s+(\d+)\s+i/u/d\s+(\d+)/`)

// index runs zebraidx init and update over files.
func (s *Server) index(ctx context.Context, files []string) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "zebraidx", append([]string{"-c", "zebra.cfg", "-l", "idx.log"}, args...)...)
		cmd.Dir = s.Dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(s.Dir, "idx.log"))
			return fmt.Errorf("zebralab %s: zebraidx %s: %v: %s %s", s.Name, args[0], err, tail(out, 300), tail(log, 600))
		}
		return nil
	}
	if err := run("init"); err != nil {
		return err
	}
	if err := run(append([]string{"-d", s.Name, "update"}, files...)...); err != nil {
		return err
	}
	log, err := os.ReadFile(filepath.Join(s.Dir, "idx.log"))
	if err != nil {
		return fmt.Errorf("zebralab %s: %w", s.Name, err)
	}
	if m := recordsLine.FindAllSubmatch(log, -1); len(m) > 0 {
		s.Records, _ = strconv.Atoi(string(m[len(m)-1][2]))
	}
	if bytes.Contains(log, []byte("[fatal]")) {
		return fmt.Errorf("zebralab %s: zebraidx: %s", s.Name, tail(log, 600))
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port, nil
}

var errBind = errors.New("port is taken")

// serve starts zebrasrv on port and waits until it answers.
func (s *Server) serve(ctx context.Context, port int) error {
	gfs := filepath.Join(s.Dir, "yazgfs.xml")
	if err := os.WriteFile(gfs, []byte(yazgfs(s.Name, s.Dir, s.lab.conf, port)), 0o644); err != nil {
		return fmt.Errorf("zebralab %s: %w", s.Name, err)
	}
	logPath := filepath.Join(s.Dir, "zebrasrv.log")
	os.Remove(logPath)
	out, err := os.Create(filepath.Join(s.Dir, "zebrasrv.out"))
	if err != nil {
		return fmt.Errorf("zebralab %s: %w", s.Name, err)
	}
	defer out.Close()
	// -T: a thread per connection (a new connection costs ~5-8 ms instead of
	// ~30 ms in the default fork mode). Its own process group, so Stop
	// reaches anything it starts; stdin from /dev/null, output to a file.
	cmd := exec.Command("zebrasrv", "-T", "-f", gfs, "-l", logPath, "-p", filepath.Join(s.Dir, "zebrasrv.pid"))
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("zebralab %s: start zebrasrv: %w", s.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.once = cmd, done, sync.Once{}
	s.Port = port
	s.URL = fmt.Sprintf("http://127.0.0.1:%d/%s", port, s.Name)

	explain := s.URL + "?version=1.2&operation=explain"
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(logPath)
			if bytes.Contains(log, []byte("Address already in use")) || bytes.Contains(log, []byte("bind")) {
				return fmt.Errorf("zebralab %s: port %d: %w", s.Name, port, errBind)
			}
			return fmt.Errorf("zebralab %s: zebrasrv exited at start: %s", s.Name, tail(log, 600))
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("zebralab %s: waiting for zebrasrv: %w", s.Name, ctx.Err())
		default:
		}
		if resp, err := client.Get(explain); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte("explainResponse")) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("zebralab %s: zebrasrv did not answer on port %d within 15s: %s", s.Name, port, tail(log, 600))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Stop ends the server: SIGTERM to its process group, SIGKILL if it is
// still there after 5 seconds. It is safe to call more than once.
func (s *Server) Stop() error { return s.signal(syscall.SIGTERM, 5*time.Second) }

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL, 5*time.Second) }

func (s *Server) signal(sig syscall.Signal, wait time.Duration) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, sig)
		select {
		case <-s.done:
		case <-time.After(wait):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-s.done:
			case <-time.After(wait):
				err = fmt.Errorf("zebralab %s: zebrasrv (pid %d) did not stop", s.Name, pgid)
			}
		}
	})
	return err
}

// Close stops every server the lab started.
func (l *Lab) Close() error {
	l.mu.Lock()
	servers := l.servers
	l.servers = nil
	l.mu.Unlock()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Stop())
	}
	return errors.Join(errs...)
}

// yazgfs is the server's YAZ front-end configuration: one listener on
// loopback, the member's database, the CQL mapping, the retrieval schemas
// and the explain record that lists the supported indexes.
func yazgfs(name, dir, conf string, port int) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<yazgfs>
  <listen id="http">tcp:127.0.0.1:%[1]d</listen>
  <server id="%[2]s" listenref="http">
    <directory>%[3]s</directory>
    <config>zebra.cfg</config>
    <cql2rpn>%[4]s/cql2pqf.txt</cql2rpn>
    <retrievalinfo>
      <retrieval syntax="xml" name="marcxml" identifier="info:srw/schema/1/marcxml-v1.1"/>
      <retrieval syntax="xml" name="dc" identifier="info:srw/schema/1/dc-v1.1"/>
    </retrievalinfo>
    <explain xmlns="http://explain.z3950.org/dtd/2.0/">
      <serverInfo protocol="SRU" version="1.2"><host>127.0.0.1</host><port>%[1]d</port><database>%[2]s</database></serverInfo>
      <databaseInfo><title lang="en" primary="true">Member library %[2]s</title></databaseInfo>
      <indexInfo>
        <set name="cql" identifier="info:srw/cql-context-set/1/cql-v1.2"/>
        <set name="dc" identifier="info:srw/cql-context-set/1/dc-v1.1"/>
        <set name="bath" identifier="http://zing.z3950.org/cql/bath/2.0/"/>
        <index><title>server choice</title><map><name set="cql">serverChoice</name></map></index>
        <index><title>anywhere</title><map><name set="cql">anywhere</name></map></index>
        <index><title>title</title><map><name set="dc">title</name></map></index>
        <index><title>creator</title><map><name set="dc">creator</name></map></index>
        <index><title>subject</title><map><name set="dc">subject</name></map></index>
        <index><title>publisher</title><map><name set="dc">publisher</name></map></index>
        <index><title>year (008/07-10)</title><map><name set="dc">date</name></map></index>
        <index><title>ISBN</title><map><name set="bath">isbn</name></map></index>
        <index><title>ISSN</title><map><name set="bath">issn</name></map></index>
      </indexInfo>
      <schemaInfo>
        <schema identifier="info:srw/schema/1/marcxml-v1.1" name="marcxml"><title>MARCXML</title></schema>
        <schema identifier="info:srw/schema/1/dc-v1.1" name="dc"><title>Dublin Core (srw_dc)</title></schema>
      </schemaInfo>
    </explain>
  </server>
</yazgfs>
`, port, name, dir, conf)
}

// WriteSubset writes the first n records of src (MARCXML or binary MARC,
// gzipped or not) to dst as a MARCXML collection and returns how many it
// wrote. Unreadable records are skipped. n ≤ 0 means every record.
func WriteSubset(dst, src string, n int) (int, error) {
	r, closer, err := marc.Open(src)
	if err != nil {
		return 0, fmt.Errorf("zebralab: %w", err)
	}
	defer closer.Close()
	f, err := os.Create(dst)
	if err != nil {
		return 0, fmt.Errorf("zebralab: %w", err)
	}
	w := marc.NewXMLWriter(f)
	count := 0
	for n <= 0 || count < n {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *marc.RecordError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			f.Close()
			return count, fmt.Errorf("zebralab: read %s: %w", src, err)
		}
		if err := w.Write(rec); err != nil {
			f.Close()
			return count, fmt.Errorf("zebralab: write %s: %w", dst, err)
		}
		count++
	}
	if err := w.Close(); err != nil {
		f.Close()
		return count, fmt.Errorf("zebralab: write %s: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return count, fmt.Errorf("zebralab: write %s: %w", dst, err)
	}
	return count, nil
}

// Subset is WriteSubset into dir under the source's base name, for
// callers that only need the path.
func Subset(dir, src string, n int) (string, int, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(src), ".gz"), ".xml")
	dst := filepath.Join(dir, fmt.Sprintf("%s-%d.xml", base, n))
	count, err := WriteSubset(dst, src, n)
	return dst, count, err
}
