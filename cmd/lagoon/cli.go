package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"strings"

	"github.com/lagoon-dev/lagoon/lake"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitRejected = 3 // run --once, convert: some file was rejected or some record was bad
)

// command is one subcommand.
type command struct {
	name    string
	args    string // positional arguments, for the usage line
	summary string
	help    string // longer description
	noRoot  bool   // works on local files, not a lake: no --root, --catalog, --s3-path-style
	logs    bool   // logs its work: takes --log-level (others log warnings only)
	flags   func(fs *flag.FlagSet, g *globals)
	run     func(ctx context.Context, g *globals, args []string) int
}

func commands() []*command {
	return []*command{initCmd(), runCmd(), tablesCmd(), showCmd(), headCmd(), convertCmd(), trailCmd(), statsCmd(), logCmd(), statusCmd(), retryCmd(), maintainCmd(), contractCmd(), lambdaCmd()}
}

// globals are the flags every command takes, and the output streams.
type globals struct {
	root      string
	catalog   string
	pathStyle bool
	rest      lake.RESTConfig
	json      bool
	logLevel  string
	logFormat string
	config    string
	set       map[string]bool // the flags given on the command line
	stdout    io.Writer
	stderr    io.Writer
	log       *slog.Logger
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 && os.Getenv(runtimeAPIEnv) != "" {
		args = []string{"lambda"} // started by Lambda as its bootstrap
	}
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" && len(args) == 1 {
		usage(stdout)
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		fmt.Fprintln(stdout, "lagoon", buildVersion())
		return exitOK
	}
	name := args[0]
	if name == "help" {
		name, args = args[1], []string{args[1], "--help"}
	}
	for _, c := range commands() {
		if c.name == name {
			return c.exec(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "lagoon: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

func usage(w io.Writer) {
	fmt.Fprint(w, `lagoon turns a directory or a bucket into a data lake that loads itself:
drop JSON, CSV, Avro or ORC files under prepare/<db>/<table>/ (converted to
Parquet), or Parquet under load/<db>/<table>/, and they land in Apache Iceberg
tables under stg/, exactly once.

Usage:
  lagoon <command> [flags] [args]
  lagoon --version

Commands:
`)
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command on a lake takes --root DIR or s3://bucket[/prefix] (or $LAGOON_ROOT).
Run 'lagoon <command> --help' for its flags. Flags may come before or after arguments.

Exit status: 0 done; 1 an error; 2 wrong usage (or no lake at --root, for the
commands that only read one); 3 run --once or convert rejected a file or a record;
4 trail verify found the trail broken.
`)
}

func (c *command) exec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr, logLevel: "warn"}
	fs := flag.NewFlagSet("lagoon "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.globalFlags(fs, g)
	if c.flags != nil {
		c.flags(fs, g)
	}
	fs.Usage = func() {} // printed once, below: to stdout when asked for, to stderr after a mistake
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		c.usage(fs)
		return exitOK
	}
	if err != nil {
		c.usage(fs)
		return exitUsage
	}
	g.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { g.set[f.Name] = true })
	if err := g.settle(fs); err != nil {
		fmt.Fprintf(stderr, "lagoon %s: %v\n", c.name, err)
		return exitUsage
	}
	if g.root == "" && !c.noRoot {
		fmt.Fprintf(stderr, "lagoon %s: --root (or LAGOON_ROOT) is required\n", c.name)
		return exitUsage
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(g.logLevel)); err != nil {
		fmt.Fprintf(stderr, "lagoon %s: --log-level %q: want debug, info, warn or error\n", c.name, g.logLevel)
		return exitUsage
	}
	if g.logFormat != "" && g.logFormat != "text" && g.logFormat != "json" {
		fmt.Fprintf(stderr, "lagoon %s: --log-format %q: want text or json\n", c.name, g.logFormat)
		return exitUsage
	}
	g.log = newLogger(stderr, lv, g.logFormat == "json")
	return c.run(ctx, g, pos)
}

// restFlags registers a REST catalog's authentication (each also
// $LAGOON_<FLAG>: $LAGOON_REST_TOKEN, …).
func restFlags(fs *flag.FlagSet, rc *lake.RESTConfig) {
	fs.StringVar(&rc.Token, "rest-token", "", "REST catalog: a bearer token (Polaris, Lakekeeper, Unity; $LAGOON_REST_TOKEN)")
	fs.StringVar(&rc.Credential, "rest-credential", "", "REST catalog: OAuth2 client credentials, client_id:client_secret, exchanged for a token ($LAGOON_REST_CREDENTIAL)")
	fs.StringVar(&rc.OAuthURI, "rest-oauth-uri", "", "REST catalog: the OAuth2 token endpoint (default: the catalog's v1/oauth/tokens)")
	fs.StringVar(&rc.Scope, "rest-scope", "", "REST catalog: the OAuth2 scope asked for (default: the catalog's)")
	fs.BoolVar(&rc.SigV4, "rest-sigv4", false, "REST catalog: sign requests with AWS SigV4 (S3 Tables, Glue's Iceberg endpoint), credentials from the AWS chain")
	fs.StringVar(&rc.SigningRegion, "rest-signing-region", "", "REST catalog: the SigV4 region (default: the AWS chain's)")
	fs.StringVar(&rc.SigningName, "rest-signing-name", "", "REST catalog: the SigV4 service (execute-api by default; glue, s3tables)")
	fs.StringVar(&rc.Warehouse, "rest-warehouse", "", "REST catalog: the warehouse parameter (an S3 Tables bucket ARN, a Polaris catalog, …)")
}

// settle fills the flags not given from the environment and the config
// file (see settleFlags).
func (g *globals) settle(fs *flag.FlagSet) error {
	var file map[string]string
	if path, _ := configPath(g.config); path != "" {
		var err error
		if file, err = loadConfig(path); err != nil {
			return err
		}
	}
	return settleFlags(fs, g.set, file)
}

// globalFlags registers the flags that apply to c: the lake's, unless it
// works on local files; --log-level, when it logs its work.
func (c *command) globalFlags(fs *flag.FlagSet, g *globals) {
	fs.StringVar(&g.config, "config", "", "a YAML file of flag values (name: value), below the environment ($LAGOON_<FLAG>) and the command line (default ./lagoon.yaml when it exists, or $LAGOON_CONFIG)")
	if !c.noRoot {
		fs.StringVar(&g.root, "root", os.Getenv("LAGOON_ROOT"), "the lake: a local directory or s3://bucket[/prefix] (default $LAGOON_ROOT)")
		fs.StringVar(&g.catalog, "catalog", os.Getenv("LAGOON_CATALOG"), "sqlite (local default), glue (S3 default), postgres://… or rest+https://… (default $LAGOON_CATALOG)")
		fs.BoolVar(&g.pathStyle, "s3-path-style", os.Getenv("LAGOON_S3_PATH_STYLE") == "true", "path-style S3 addressing, for MinIO, moto and the like ($LAGOON_S3_PATH_STYLE)")
		restFlags(fs, &g.rest)
	}
	if c.logs {
		g.logLevel = "info"
		fs.StringVar(&g.logLevel, "log-level", g.logLevel, "log level: debug, info, warn, error")
		fs.StringVar(&g.logFormat, "log-format", "text", "log format: text (key=value) or json (one object per line)")
	}
}

func (c *command) usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: lagoon %s [flags] %s\n\n%s\n\nFlags:\n", c.name, c.args, strings.TrimSpace(c.help))
	fs.PrintDefaults()
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments, returning the positional ones in order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newLogger(w io.Writer, lv slog.Level, asJSON bool) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})
	if asJSON {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	}
	l := slog.New(h)
	// Libraries that print with the standard logger (iceberg-go's "failed
	// to delete old metadata file", a file another commit deleted first)
	// go through slog, at debug level.
	log.SetFlags(0)
	log.SetOutput(slog.NewLogLogger(l.Handler(), slog.LevelDebug).Writer())
	return l
}

// fail prints an error for a command and returns exitError (exitUsage
// when --root names no lake).
func (g *globals) fail(cmd string, err error) int {
	fmt.Fprintf(g.stderr, "lagoon %s: %v\n", cmd, err)
	if errors.Is(err, lake.ErrNoLake) {
		return exitUsage
	}
	return exitError
}

// compatible checks that none of the flags given is one that mode (on,
// named name) leaves unused: a flag accepted and ignored would surprise.
func (g *globals) compatible(cmd string, on bool, name string, flags ...string) bool {
	if !on {
		return true
	}
	for _, f := range flags {
		if g.set[f] {
			fmt.Fprintf(g.stderr, "lagoon %s: --%s does not apply with %s; see 'lagoon %s --help'\n", cmd, f, name, cmd)
			return false
		}
	}
	return true
}

// wantArgs checks the number of positional arguments.
func (g *globals) wantArgs(cmd string, args []string, n int, what string) bool {
	if len(args) != n {
		fmt.Fprintf(g.stderr, "lagoon %s: want %s, got %d argument(s); see 'lagoon %s --help'\n", cmd, what, len(args), cmd)
		return false
	}
	return true
}
