package index

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The kill -9 test: a child process (this test binary, re-executed) writes
// lists in a loop and prints each write before starting it ("B") and once it
// is acknowledged ("A"). The parent kills it with SIGKILL at some moment,
// restarts it on the same directory a few times, then opens the store and
// checks that every acknowledged write is there, intact and searchable.

const (
	crashDirEnv   = "COMMONSHELF_INDEX_CRASH_DIR"
	crashRoundEnv = "COMMONSHELF_INDEX_CRASH_ROUND"
)

var crashOptions = Options{Languages: map[string]string{"sud": "fr"}}

// crashList is the content of list id at version ver: the parent rebuilds it
// to compare. Its unique word "tok<id>" is in the name and in every citation
// title.
func crashList(id string, ver int) *List {
	n := 0
	for _, c := range id {
		n = n*31 + int(c)
	}
	l := syntheticList(n&0xffff, 20+n%30)
	l.Institution = []string{"north", "sud"}[n%2]
	l.ID = id
	l.Name = fmt.Sprintf("tok%s version %d", strings.ReplaceAll(id, "-", "x"), ver)
	l.Status = StatusPublished
	for si := range l.Sections {
		for ci := range l.Sections[si].Citations {
			c := &l.Sections[si].Citations[ci]
			c.Title = fmt.Sprintf("%s tok%s", c.Title, strings.ReplaceAll(id, "-", "x"))
		}
	}
	return l
}

// TestHelperProcess is the child of TestKillDuringWrites; on its own it
// does nothing.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestKillDuringWrites")
	}
	round := os.Getenv(crashRoundEnv)
	s, err := OpenWithOptions(nil, dir, crashOptions)
	if err != nil {
		fmt.Println("ERR open:", err)
		os.Exit(3)
	}
	fmt.Println("READY", s.openReplayed, s.openRebuilt)
	ctx := context.Background()
	id := func(n int) string { return fmt.Sprintf("r%s-%d", round, n) }
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	for n := 0; ; n++ {
		switch n % 8 {
		case 5: // a batch of five new lists
			var ls []*List
			for k := range 5 {
				bid := fmt.Sprintf("%s-b%d", id(n), k)
				ls = append(ls, crashList(bid, 1))
				fmt.Println("B put", bid, 1)
			}
			errs, err := s.PutBatch(ctx, ls)
			if err != nil {
				fail(err)
			}
			for k, l := range ls {
				if errs[k] != nil {
					fail(errs[k])
				}
				fmt.Println("A put", l.ID, 1)
			}
		case 6: // a new version of the list written 6 steps ago
			fmt.Println("B put", id(n-6), 2)
			if _, err := s.Put(ctx, crashList(id(n-6), 2)); err != nil {
				fail(err)
			}
			fmt.Println("A put", id(n-6), 2)
		case 7: // delete the list written 6 steps ago
			fmt.Println("B del", id(n-6), 0)
			if _, err := s.Delete(ctx, "north", id(n-6)); err != nil {
				fail(err)
			}
			if _, err := s.Delete(ctx, "sud", id(n-6)); err != nil {
				fail(err)
			}
			fmt.Println("A del", id(n-6), 0)
		default:
			fmt.Println("B put", id(n), 1)
			if _, err := s.Put(ctx, crashList(id(n), 1)); err != nil {
				fail(err)
			}
			fmt.Println("A put", id(n), 1)
		}
	}
}

// listState is what the parent knows of one list: the last acknowledged
// version (0: deleted or never acknowledged) and a version begun but not
// acknowledged when the child died (-1: none; 0: a deletion).
type listState struct {
	acked   int
	pending int
}

func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	state := map[string]*listState{}
	const rounds = 6
	for round := range rounds {
		killChild(t, dir, round, 12+round*7, state)
	}

	s := openTest(t, dir, crashOptions)
	t.Logf("final open: %d changes replayed into the index, rebuilt %v", s.openReplayed, s.openRebuilt)
	wantMin, wantMax := 0, 0
	for id, st := range state {
		okVersions := map[int]bool{st.acked: true}
		if st.pending >= 0 {
			okVersions[st.pending] = true
		}
		l, found := getEither(t, s, id)
		got := 0
		if found {
			got = versionOf(l)
		}
		if !okVersions[got] {
			t.Errorf("%s: stored version %d, acknowledged %d (pending %d)", id, got, st.acked, st.pending)
			continue
		}
		if st.acked > 0 {
			wantMin++
		}
		if st.acked > 0 || st.pending > 0 {
			wantMax++
		}
		if !found {
			if hits := searchToken(t, s, id); hits != 0 {
				t.Errorf("%s: deleted but still found by search", id)
			}
			continue
		}
		want := crashList(id, got)
		want.Updated = l.Updated
		if !reflect.DeepEqual(l, want) {
			t.Errorf("%s: stored list differs from what was written (%d citations, want %d)", id, l.CitationCount(), want.CitationCount())
		}
		if hits := searchToken(t, s, id); hits != 1 {
			t.Errorf("%s: acknowledged but found %d times by search", id, hits)
		}
	}
	n, _ := s.Count()
	docs, err := s.idx.DocCount()
	if err != nil || int(docs) != n {
		t.Errorf("index holds %d documents (%v), store %d lists", docs, err, n)
	}
	if n < wantMin || n > wantMax {
		t.Errorf("store holds %d lists, want %d..%d", n, wantMin, wantMax)
	}
	t.Logf("%d rounds killed; %d lists checked; %d stored", rounds, len(state), n)
}

// killChild runs one child on dir, lets it acknowledge at least acks
// writes, kills it with SIGKILL and records what it had acknowledged.
func killChild(t *testing.T, dir string, round, acks int, state map[string]*listState) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Mark a version begun; the kill may come before its acknowledgement.
	begin := func(id string, ver int) {
		st := state[id]
		if st == nil {
			st = &listState{pending: -1}
			state[id] = st
		}
		st.pending = ver
	}
	ack := func(id string, ver int) {
		st := state[id]
		st.acked, st.pending = ver, -1
	}
	handle := func(line string) {
		f := strings.Fields(line)
		if len(f) == 4 && (f[0] == "A" || f[0] == "B") {
			ver, _ := strconv.Atoi(f[3])
			if f[0] == "B" {
				begin(f[2], ver)
			} else {
				ack(f[2], ver)
			}
		} else if strings.HasPrefix(line, "READY") {
			t.Logf("child round %d opened the store: changes replayed into the index, rebuilt: %s", round, strings.TrimPrefix(line, "READY "))
		} else if strings.HasPrefix(line, "ERR") {
			t.Errorf("child round %d: %s", round, line)
		}
	}
	seen := 0
	deadline := time.After(2 * time.Minute)
	for seen < acks {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("child round %d ended after %d acknowledgements: %v", round, seen, cmd.Wait())
			}
			handle(line)
			if strings.HasPrefix(line, "A ") {
				seen++
			}
		case <-deadline:
			t.Fatalf("child round %d: only %d acknowledgements in 2 minutes", round, seen)
		}
	}
	// Kill at some moment within the next write or so.
	time.Sleep(time.Duration(round*3) * time.Millisecond)
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for line := range lines { // whatever it printed before dying counts
		handle(line)
	}
	cmd.Wait()
}

func getEither(t *testing.T, s *Store, id string) (*List, bool) {
	t.Helper()
	for _, inst := range []string{"north", "sud"} {
		l, ok, err := s.Get(inst, id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if ok {
			return l, true
		}
	}
	return nil, false
}

func versionOf(l *List) int {
	f := strings.Fields(l.Name)
	v, _ := strconv.Atoi(f[len(f)-1])
	return v
}

// searchToken counts the lists found by the list's unique word, both in
// the list name and in citation titles.
func searchToken(t *testing.T, s *Store, id string) int {
	t.Helper()
	tok := "tok" + strings.ReplaceAll(id, "-", "x")
	res, err := s.Search(context.Background(), ListQuery{Text: "title:" + tok + " list:" + tok})
	if err != nil {
		t.Fatalf("search %s: %v", tok, err)
	}
	return res.Total
}
