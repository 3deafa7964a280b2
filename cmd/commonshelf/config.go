package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/commonshelf/commonshelf/connectors"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/lti"
)

// loadConfig is the one validation of a configuration file, run by both
// check-config and serve: consortium.Load, then everything serve would
// refuse at start-up that can be checked without serving — each member's
// connector options and settings as its constructor checks them (unknown
// options named with the closest known one), the environment variables
// the file names (webhook secrets, Primo API keys), the learning-platform
// registrations as the LTI tool checks them. Every problem names file,
// line, institution and key, as Load's own do, and all are reported at
// once (a *consortium.Error).
func loadConfig(path string) (*consortium.Config, error) {
	cfg, err := consortium.Load(path)
	if err != nil {
		return nil, err
	}
	if err := startupProblems(cfg, os.Getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

// startupProblems checks cfg as serve's start-up would (see loadConfig);
// getenv reads the environment.
func startupProblems(cfg *consortium.Config, getenv func(string) string) error {
	var ps []*consortium.Problem
	add := func(inst, key, format string, args ...any) {
		ps = append(ps, cfg.Problem(inst, consortium.InstitutionKey(inst, key), format, args...))
	}
	for i := range cfg.Institutions {
		in := &cfg.Institutions[i]
		if in.Member != nil {
			for _, p := range connectors.Check(in.ID, in.Member) {
				key := "member"
				if p.Key != "" {
					key += "." + p.Key
				}
				add(in.ID, key, "%s", p.Message)
			}
		}
		if w := in.Requests.Webhook; w != nil && w.SecretEnv != "" && getenv(w.SecretEnv) == "" {
			add(in.ID, "requests.webhook.secret_env", "names the environment variable %s, which is not set or is empty; set it to the webhook's HMAC secret", w.SecretEnv)
		}
		for j, p := range in.LTI.Platforms {
			err := lti.CheckPlatform(ltiPlatform(consortium.InstitutionPlatform{Institution: in.ID, LTIPlatform: p}))
			if err == nil {
				continue
			}
			key := fmt.Sprintf("lti.platforms[%d]", j)
			if pe, ok := errors.AsType[*lti.PlatformError](err); ok && pe.Field != "institution" {
				key += "." + pe.Field
			}
			add(in.ID, key, "%s", err.Error())
		}
	}
	return consortium.Problems(ps)
}

// ltiPlatform is the LTI tool's registration of a configured platform.
func ltiPlatform(p consortium.InstitutionPlatform) lti.Platform {
	return lti.Platform{Name: p.Name, Institution: p.Institution, Issuer: p.Issuer, ClientID: p.ClientID,
		DeploymentIDs: p.DeploymentIDs, AuthURL: p.AuthURL, JWKSURL: p.JWKSURL, CourseClaim: p.CourseClaim, FrameOrigins: p.FrameOrigins}
}
