package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// defaultConfigFile is read when it exists and neither --config nor
// $LAGOON_CONFIG names another.
const defaultConfigFile = "lagoon.yaml"

// configPath is the config file to read ("" for none): --config, else
// $LAGOON_CONFIG (either must exist), else ./lagoon.yaml if it exists.
func configPath(given string) (string, bool) {
	if given != "" {
		return given, true
	}
	if p := os.Getenv("LAGOON_CONFIG"); p != "" {
		return p, true
	}
	if _, err := os.Stat(defaultConfigFile); err == nil {
		return defaultConfigFile, false
	}
	return "", false
}

// loadConfig reads a config file: a YAML mapping whose keys are flag
// names (of any command) and whose values are scalars.
func loadConfig(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	known := allFlagNames()
	out := make(map[string]string, len(raw))
	for k, n := range raw {
		if !known[k] {
			return nil, fmt.Errorf("config %s: %q is no flag of any command (keys are flag names: settle, log-level, …)", path, k)
		}
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("config %s: %s: want a single value", path, k)
		}
		out[k] = n.Value
	}
	return out, nil
}

// allFlagNames are the flags of every command.
func allFlagNames() map[string]bool {
	names := map[string]bool{}
	for _, c := range commands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		g := &globals{}
		c.globalFlags(fs, g)
		if c.flags != nil {
			c.flags(fs, g)
		}
		fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	}
	return names
}

// envName is the environment variable of a flag: LAGOON_ and its name in
// upper case, dashes as underscores (--log-level: $LAGOON_LOG_LEVEL).
func envName(flagName string) string {
	return "LAGOON_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// settleFlags gives each flag not on the command line its value from the
// environment or, failing that, the config file: flags win over the
// environment, which wins over the file.
func settleFlags(fs *flag.FlagSet, set map[string]bool, file map[string]string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		if v := os.Getenv(envName(f.Name)); v != "" {
			errs = append(errs, setFlag(fs, f.Name, v, "$"+envName(f.Name)))
		} else if v, ok := file[f.Name]; ok {
			errs = append(errs, setFlag(fs, f.Name, v, "the config file's "+f.Name))
		}
	})
	return errors.Join(errs...)
}

func setFlag(fs *flag.FlagSet, name, value, from string) error {
	if err := fs.Set(name, value); err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	return nil
}
