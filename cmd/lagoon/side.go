package main

import (
	"log/slog"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
	"github.com/lagoon-dev/lagoon/stats"
	"github.com/lagoon-dev/lagoon/trail"
)

// sideTasks are the side tables' tasks, in the order they run: the log
// last, so that it holds the others' failures (maintenance follows).
func sideTasks(lk *lake.Lake, sink *logs.Sink, withTrail bool, sc stats.Config, log *slog.Logger) []daemon.SideTask {
	var tasks []daemon.SideTask
	if withTrail {
		tasks = append(tasks, trail.NewSyncer(lk, log))
	}
	ls := logs.NewSyncer(lk, log)
	ls.Sink = sink
	return append(tasks, stats.NewSyncer(lk, sc, log), ls)
}

// sideTables are the side tables kept, for their maintenance.
func sideTables(withTrail bool) []lake.SideTable {
	tables := []lake.SideTable{stats.TablesDef, stats.ColumnsDef, logs.TableDef}
	if withTrail {
		tables = append(tables, trail.TableDef)
	}
	return tables
}
