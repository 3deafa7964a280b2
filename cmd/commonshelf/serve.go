package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/commonshelf/commonshelf/api"
	"github.com/commonshelf/commonshelf/connectors"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/demo/lms"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/index/files"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/requests"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serveFlags are the flags of serve (and, in part, import).
type serveFlags struct {
	config  string // consortium file; "" with demo
	demo    bool   // serve the embedded demo consortium
	addr    string // listen address
	dataDir string // local indexes and the demo's files
	logJSON bool   // JSON logs instead of text
}

func (f *serveFlags) register(fs *flag.FlagSet, withAddr bool) {
	fs.StringVar(&f.config, "config", "", "consortium configuration `file` (YAML)")
	fs.BoolVar(&f.demo, "demo", false, "use the embedded demo consortium (written to DATA-DIR/demo)")
	fs.StringVar(&f.dataDir, "data-dir", "commonshelf-data", "`directory` for member indexes and the demo's files")
	if withAddr {
		fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen `address` host:port")
		fs.BoolVar(&f.logJSON, "log-json", false, "write logs as JSON lines")
	}
}

// configPath resolves --config / --demo to a configuration file. With
// --demo it writes the demo consortium without a learning platform (the
// import commands need none; serve registers its own, see
// demoConfigPath).
func (f *serveFlags) configPath() (string, error) {
	if err := f.checkSource(); err != nil {
		return "", err
	}
	if f.demo {
		return f.demoConfigPath("")
	}
	return f.config, nil
}

// checkSource checks that exactly one of --config and --demo is given.
func (f *serveFlags) checkSource() error {
	switch {
	case f.demo && f.config != "":
		return errors.New("give either --config or --demo, not both")
	case !f.demo && f.config == "":
		return errors.New("--config FILE or --demo is required")
	}
	return nil
}

// demoConfigPath writes the demo consortium under DATA-DIR/demo, with the
// demo learning platform served at server (an absolute URL without a
// trailing slash) registered for every institution; server "" → none. Only
// consortium.yaml depends on server: a new address does not rewrite the
// catalogues.
func (f *serveFlags) demoConfigPath(server string) (string, error) {
	var opts demo.Options
	if server != "" {
		ep := lms.EndpointsAt(server)
		opts.Platform = &demo.Platform{Name: "Demo learning platform", Issuer: ep.Issuer, AuthURL: ep.Auth, JWKSURL: ep.JWKS, HomeURL: ep.Home}
	}
	p, err := demo.GenerateWith(filepath.Join(f.dataDir, "demo"), opts)
	if err != nil {
		return "", fmt.Errorf("write demo consortium: %w", err)
	}
	return p, nil
}

// listenURL is the http URL of a listening address; an unspecified host
// (0.0.0.0, ::) becomes 127.0.0.1, which a browser on the machine can open.
func listenURL(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	ip := t.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(t.Port))
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve takes no arguments, got %q\n", fs.Args())
		return errUsage
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if f.logJSON {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	logger := slog.New(handler)

	if err := f.checkSource(); err != nil {
		return err
	}
	// Listen first, so that a busy port is reported at once and the demo's
	// learning platform, whose address goes into the demo consortium, knows
	// where it is served.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	defer ln.Close()
	base := listenURL(ln.Addr())
	path := f.config
	if f.demo {
		if path, err = f.demoConfigPath(base); err != nil {
			return err
		}
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	setMemoryLimit(logger, cfg)
	public := cmp.Or(cfg.Consortium.PublicURL, base)
	var demoLMS *lms.Platform
	if f.demo {
		if demoLMS, err = openDemoLMS(logger, cfg, base, public); err != nil {
			return err
		}
	}

	// Serve at once, not ready, while the members and stores are opened
	// (see opening.go): /readyz says 503 until then, and so does every
	// search, with Retry-After.
	members, placeholders := openingMembers(cfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cc := cfg.Consortium.Defaults.Cache
	answerBytes, _ := api.CacheBudget(cc.MaxMB) // the encoded pages take the rest
	engine, err := federate.NewEngine(logger, federate.EngineConfig{
		DefaultTimeout: time.Duration(cfg.Consortium.Defaults.Search.TimeoutMS) * time.Millisecond,
		MaxTimeout:     cfg.MaxTimeout(),
		// The cache starts empty: a configuration change takes a restart,
		// which is also what invalidates answers made under the old one.
		Cache: federate.CacheConfig{TTL: cc.TTL, PartialTTL: cc.PartialTTL, StaleGrace: cc.StaleGrace,
			MaxEntries: cc.MaxEntries, MaxBytes: answerBytes},
		MaxSearches: cmp.Or(cfg.Server.MaxSearches, federate.DefaultMaxSearches()),
	}, federate.NewMetrics(reg), members)
	if err != nil {
		return err
	}
	srv := api.New(logger, cfg, engine, reg)
	if demoLMS != nil {
		srv.Mount(lms.Prefix, demoLMS.Handle)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	// Whatever ends serve stops the HTTP server first; the stores, deferred
	// below, are closed after it.
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
	defer stop()
	if addr := cfg.Server.Operator.Listen; addr != "" {
		oln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on the operator address %s (server.operator.listen): %w", addr, err)
		}
		defer oln.Close()
		go func() { errc <- srv.ServeOperator(oln) }()
		fmt.Fprintf(stdout, "Operator address (metrics, members' state, cache=bypass; no key needed): %s/\n", listenURL(oln.Addr()))
	}
	fmt.Fprintf(stdout, "Commonshelf is starting on %s: opening %d member catalogues (/readyz answers 503 until they are open)\n", base, len(members))
	logger.Info("starting", "addr", ln.Addr().String(), "consortium", cfg.Consortium.ID, "members", len(members))

	built, closers, err := connectors.BuildMembers(ctx, logger, cfg, f.dataDir)
	defer func() {
		stop() // before the connectors close
		for _, c := range closers {
			c.Close()
		}
	}()
	if err != nil {
		return err
	}
	if err := openMembers(placeholders, built); err != nil {
		return err
	}
	lists, err := openLists(ctx, logger, cfg, f.dataDir, f.demo)
	if err != nil {
		return err
	}
	defer func() { stop(); lists.Close() }()
	engine.SetCourseLookup(lists)
	srv.SetLists(lists)
	reqs, targets, err := openRequests(cfg, f.dataDir)
	if err != nil {
		return err
	}
	defer func() { stop(); reqs.Close() }()
	srv.SetRequests(reqs)
	if ps := cfg.LTIPlatforms(); len(ps) > 0 {
		l, err := openLTI(logger, ps, f.dataDir, public)
		if err != nil {
			return err
		}
		srv.SetLTI(l)
	}
	// The deliverer drains the durable outbox until shutdown; the store is
	// closed only after it has stopped.
	dctx, stopDeliveries := context.WithCancel(context.Background())
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		requests.NewDeliverer(logger, requests.DelivererConfig{Outbox: reqs, Targets: targets}).Run(dctx)
	}()
	defer func() { stopDeliveries(); <-delivered }()
	// Measured before any search: what the service needs when idle.
	refineMemoryLimit(logger, cfg)
	srv.SetReady(true)

	fmt.Fprintf(stdout, "Commonshelf is serving %s (%d members) at %s/\n  try: curl '%s/api/v1/search?q=hunger+games'\n",
		cfg.Consortium.Name, len(members), base, base)
	if demoLMS != nil {
		fmt.Fprintf(stdout, "  sign in from a course (demo learning platform): %s\n", demoLMS.Endpoints().Home)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "consortium", cfg.Consortium.ID, "members", len(members))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	if err := stop(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// openLists opens the resource-list store under dataDir/lists, with each
// institution's language for stemming; with demo, an empty store is filled
// with the demo consortium's lists.
func openLists(ctx context.Context, logger *slog.Logger, cfg *consortium.Config, dataDir string, withDemo bool) (*index.Store, error) {
	langs := map[string]string{}
	for _, in := range cfg.Institutions {
		if eff, ok := cfg.Effective(in.ID); ok {
			langs[in.ID] = eff.Language()
		}
	}
	blobs, err := files.OpenDisk(filepath.Join(dataDir, "files"))
	if err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	store, err := index.OpenWithOptions(logger, filepath.Join(dataDir, "lists"), index.Options{
		Languages: langs, DefaultLanguage: cfg.Consortium.Defaults.Language, Files: blobs})
	if err != nil {
		return nil, fmt.Errorf("open resource lists: %w", err)
	}
	if !withDemo {
		return store, nil
	}
	if n, err := store.Count(); err != nil || n > 0 {
		return store, err
	}
	ls, err := demo.Lists()
	if err != nil {
		store.Close()
		return nil, err
	}
	start := time.Now()
	if _, err := store.PutBatch(ctx, ls); err != nil {
		store.Close()
		return nil, fmt.Errorf("load demo resource lists: %w", err)
	}
	logger.Info("loaded demo resource lists", "lists", len(ls), "took", time.Since(start).Round(time.Millisecond).String())
	return store, nil
}

// openRequests opens the request store under dataDir/requests and resolves
// each institution's webhook (reading its secret from the environment
// variable the configuration names) or ISO 18626 endpoint.
func openRequests(cfg *consortium.Config, dataDir string) (*requests.BoltStore, map[string]requests.Target, error) {
	targets := map[string]requests.Target{}
	for _, in := range cfg.Institutions {
		if e := in.Requests.ISO18626; e != nil {
			targets[in.ID] = requests.Target{URL: e.URL, ISO18626: true}
			continue
		}
		w := in.Requests.Webhook
		if w == nil {
			continue
		}
		t := requests.Target{URL: w.URL}
		if w.SecretEnv != "" {
			secret := os.Getenv(w.SecretEnv)
			if secret == "" {
				return nil, nil, fmt.Errorf("institution %s: requests.webhook.secret_env names %s, which is not set or empty", in.ID, w.SecretEnv)
			}
			t.Secret = []byte(secret)
		}
		targets[in.ID] = t
	}
	store, err := requests.OpenBolt(filepath.Join(dataDir, "requests"))
	if err != nil {
		return nil, nil, err
	}
	return store, targets, nil
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: commonshelf check-config FILE")
		return errUsage
	}
	cfg, err := loadConfig(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errors.New("the configuration has problems (listed above)")
	}
	fmt.Fprintf(stdout, "%s: OK\n%s\n", args[0], cfg.Summary())
	return nil
}

// keyRotation is how often the tool's LTI signing key is replaced; the next
// key is published a whole period before it signs.
const keyRotation = 90 * 24 * time.Hour

// openLTI sets up the LTI 1.3 tool: its signing keys under dataDir/lti-keys,
// the platform registrations and the session store. Launches come back to
// public (the consortium's public_url, or the listen URL when it has none).
func openLTI(logger *slog.Logger, ps []consortium.InstitutionPlatform, dataDir, public string) (api.LTI, error) {
	keys, err := lti.OpenKeySet(filepath.Join(dataDir, "lti-keys"), lti.KeyOptions{RotateEvery: keyRotation, Logger: logger})
	if err != nil {
		return api.LTI{}, fmt.Errorf("open LTI keys: %w", err)
	}
	platforms := make([]lti.Platform, 0, len(ps))
	for _, p := range ps {
		platforms = append(platforms, ltiPlatform(p))
	}
	tool, err := lti.New(logger, lti.Config{Platforms: platforms, RedirectURI: public + "/lti/launch", Keys: keys})
	if err != nil {
		return api.LTI{}, err
	}
	return api.LTI{Tool: tool, Sessions: lti.NewSessions(lti.SessionOptions{}), Keys: keys, PublicURL: public}, nil
}

// openDemoLMS builds the demo learning platform served at server+lms.Prefix:
// every institution of the demo consortium with the courses of its demo
// resource lists, launching the tool at public.
func openDemoLMS(logger *slog.Logger, cfg *consortium.Config, server, public string) (*lms.Platform, error) {
	ls, err := demo.Lists()
	if err != nil {
		return nil, err
	}
	courses := lms.Courses(ls)
	var insts []lms.Institution
	for _, in := range cfg.Institutions {
		eff, _ := cfg.Effective(in.ID)
		insts = append(insts, lms.Institution{ID: in.ID, Name: in.Name, ClientID: demo.LMSClientID(in.ID),
			DeploymentID: demo.LMSDeploymentID(in.ID), Locale: eff.Language(), Courses: courses[in.ID]})
	}
	p, err := lms.New(logger, lms.Config{ServerURL: server, ToolURL: public, Institutions: insts})
	if err != nil {
		return nil, fmt.Errorf("demo learning platform: %w", err)
	}
	return p, nil
}
