package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/lagoon-dev/lagoon/contract"
)

func contractCmd() *command {
	return &command{
		name:    "contract",
		args:    "check FILE...",
		summary: "check table contracts (assets/lagoon/tables/<db>/<table>.yaml)",
		help: `check reads each table contract FILE as lagoon would and prints what it says,
or what is wrong with it. Exit status: 0 when every file is a valid contract,
1 when some file is not (or cannot be read), 2 on wrong usage. --json prints one
object per file: file, valid, sha256, error, and the contract's fields.`,
		noRoot: true,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print a JSON array, an object per file")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if len(args) < 2 || args[0] != "check" {
				fmt.Fprintln(g.stderr, "lagoon contract: want check FILE...; see 'lagoon contract --help'")
				return exitUsage
			}
			return checkContracts(g, args[1:])
		},
	}
}

// contractReport is what contract check says of one file.
type contractReport struct {
	File      string            `json:"file"`
	Valid     bool              `json:"valid"`
	SHA256    string            `json:"sha256,omitempty"`
	Error     string            `json:"error,omitempty"`
	Keys      []string          `json:"keys,omitempty"`
	OrderBy   string            `json:"order_by,omitempty"`
	Partition []string          `json:"partition,omitempty"`
	SortOrder []string          `json:"sort_order,omitempty"`
	Mode      string            `json:"mode,omitempty"`
	Columns   map[string]string `json:"columns,omitempty"`
	Schema    string            `json:"schema,omitempty"`
	PII       map[string]string `json:"pii,omitempty"`
}

func checkContracts(g *globals, files []string) int {
	code := exitOK
	var reports []contractReport
	for _, f := range files {
		r := checkContract(f)
		if !r.Valid {
			code = exitError
		}
		reports = append(reports, r)
	}
	if g.json {
		if err := printJSON(g.stdout, reports); err != nil {
			return g.fail("contract", err)
		}
		return code
	}
	for _, r := range reports {
		printContractReport(g, r)
	}
	return code
}

func checkContract(file string) contractReport {
	r := contractReport{File: file}
	b, err := os.ReadFile(file)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	c, err := contract.Parse(b)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	return reportContract(file, c)
}

// reportContract is what contract check and show say of a valid contract.
func reportContract(file string, c *contract.Contract) contractReport {
	r := contractReport{File: file, Valid: true, SHA256: c.SHA256}
	r.Keys, r.OrderBy, r.Mode, r.Columns, r.Schema = c.Keys, c.OrderBy, string(c.ModeOrDefault()), c.Columns, c.Schema
	for _, p := range c.Partition {
		r.Partition = append(r.Partition, p.String())
	}
	for _, s := range c.SortOrder {
		r.SortOrder = append(r.SortOrder, s.String())
	}
	if len(c.PII) > 0 {
		r.PII = map[string]string{}
		for k, v := range c.PII {
			r.PII[k] = string(v)
		}
	}
	return r
}

func printContractReport(g *globals, r contractReport) {
	if !r.Valid {
		fmt.Fprintf(g.stdout, "%s: %s\n", termSafe(r.File), termSafe(r.Error))
		return
	}
	var parts []string
	add := func(name string, vals ...string) {
		if len(vals) > 0 && vals[0] != "" {
			parts = append(parts, name+" "+strings.Join(vals, ", "))
		}
	}
	add("keys", r.Keys...)
	add("order_by", r.OrderBy)
	add("partition", r.Partition...)
	add("sort_order", r.SortOrder...)
	add("mode", r.Mode)
	add("columns", mapPairs(r.Columns)...)
	add("schema", r.Schema)
	add("pii", mapPairs(r.PII)...)
	fmt.Fprintf(g.stdout, "%s: valid (%s)\n", termSafe(r.File), termSafe(strings.Join(parts, "; ")))
}
