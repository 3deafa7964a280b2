package consortium

import (
	"net"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Server holds the settings of the running service itself, as opposed to
// the consortium's: how much work it takes on, how much memory it may use,
// and who may see its operational data. After Load every field holds a
// usable value or says plainly what its zero value means.
type Server struct {
	// MaxSearches bounds the searches asking the members (a cache miss, a
	// refresh, a page deeper than the cache) at once; one more is refused at once
	// with 503 and Retry-After instead of queueing behind the others, while
	// answers from the cache need no slot. 0 (left out): 4 per core the
	// process may use (GOMAXPROCS), at least 8.
	MaxSearches int
	// MemoryLimitMB is the Go runtime's soft memory limit (GOMEMLIMIT), in
	// megabytes. 0 (left out): the Go memory the service holds when it is
	// open and idle, measured then, plus 1.5 times cache.max_mb, and at
	// least cache.max_mb + 64 MB. A GOMEMLIMIT set in the environment takes
	// precedence over both.
	MemoryLimitMB int
	// Operator says who may read operational data.
	Operator Operator
}

// Operator guards the endpoints that describe the service rather than the
// consortium's collections: /metrics, each member's live status in
// /api/v1/members, each institution's storage use in its config view, and
// searches that bypass the answer cache.
type Operator struct {
	// KeySHA256 are the hex SHA-256 digests of the operator tokens (sent as
	// Authorization: Bearer <token>). Empty: only Listen (if set) or Open
	// gives access.
	KeySHA256 []string
	// Listen is a second address (host:port) serving the same endpoints
	// with operator access and no key, for a network only operators reach
	// (a loopback or management interface). "": no second listener.
	Listen string
	// Open serves the operator endpoints to anyone, as the demo does. Never
	// set it where the service faces the open web.
	Open bool
}

// IsKey reports whether token is an operator token. It hashes the token
// and compares the digest with every key in constant time. An empty token
// never matches.
func (o *Operator) IsKey(token string) bool {
	return matchKey(token, len(o.KeySHA256), func(i int) string { return o.KeySHA256[i] }) >= 0
}

// server reads the top-level server block.
func (p *parser) server(n *yaml.Node, s *Server) {
	const path = "server"
	m, ok := p.mapping(n, path, "max_searches", "memory_limit_mb", "operator")
	if !ok {
		return
	}
	if vn := m.get("max_searches"); present(vn) {
		if v, ok := p.positive(vn, join(path, "max_searches"), "max_searches"); ok {
			s.MaxSearches = v
		}
	}
	if vn := m.get("memory_limit_mb"); present(vn) {
		if v, ok := p.positive(vn, join(path, "memory_limit_mb"), "memory_limit_mb"); ok {
			if v < 64 {
				p.add(resolve(vn), join(path, "memory_limit_mb"), "%d MB is too little for the service to run; give at least 64", v)
			} else {
				s.MemoryLimitMB = v
			}
		}
	}
	on := m.get("operator")
	if !present(on) {
		return
	}
	op := join(path, "operator")
	om, ok := p.mapping(on, op, "keys", "listen", "open")
	if !ok {
		return
	}
	if kn := om.get("keys"); present(kn) {
		items, _ := p.list(kn, join(op, "keys"))
		for i, item := range items {
			ip := index(join(op, "keys"), i)
			km, ok := p.mapping(item, ip, "sha256")
			if !ok {
				continue
			}
			if sum, ok := p.keyDigest(km, ip, ""); ok {
				s.Operator.KeySHA256 = append(s.Operator.KeySHA256, sum)
			}
		}
	}
	if ln := om.get("listen"); present(ln) {
		if v, ok := p.str(ln, join(op, "listen")); ok {
			host, port, err := net.SplitHostPort(v)
			n, perr := strconv.Atoi(port)
			switch {
			case err != nil || perr != nil || n < 0 || n > 65535:
				p.add(resolve(ln), join(op, "listen"), "%q is not an address like 127.0.0.1:9090", v)
			case host == "" || isUnspecified(host):
				// Every request on it is an operator's: it must not face
				// the networks the service itself faces.
				p.add(resolve(ln), join(op, "listen"), "%q listens on every interface; name the interface only operators reach, such as 127.0.0.1:%s", v, port)
			default:
				s.Operator.Listen = v
			}
		}
	}
	if bn := om.get("open"); present(bn) {
		if v, ok := p.boolean(bn, join(op, "open")); ok {
			s.Operator.Open = v
		}
	}
}

// isUnspecified reports whether host is an address meaning every
// interface (0.0.0.0, ::, and their spellings).
func isUnspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}
