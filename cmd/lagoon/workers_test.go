package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestSeveralWorkers: three workers share one bucket (moto), one SQS queue
// and one PostgreSQL catalog. Every notification arrives twice, workers
// are SIGKILLed and restarted while files arrive (their claims go stale
// and are taken over), and in the end each table holds every row once.
// scripts/stress-workers runs it (and TestPausedWorkers) many times over.
func TestSeveralWorkers(t *testing.T) {
	shareAmongWorkers(t, (*workers).killOne)
}

// TestPausedWorkers: as TestSeveralWorkers, but workers are paused
// (SIGSTOP) past their claim TTL mid-batch and then resumed (SIGCONT): a
// GC pause, a stalled VM. Their claims are taken over meanwhile; what they
// were committing is fenced (see loader/fence.go) and each row lands
// once.
func TestPausedWorkers(t *testing.T) {
	shareAmongWorkers(t, (*workers).pauseOne)
}

// shareAmongWorkers runs the three-worker scenario, calling disrupt after
// every fourth file.
func shareAmongWorkers(t *testing.T, disrupt func(*workers, testing.TB, *rand.Rand)) {
	if testing.Short() {
		t.Skip("multi-worker crash test: skipped with -short")
	}
	dsn := lakefixture.Postgres(t)
	lakefixture.Moto(t)
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	root := "s3://shared/lake"
	q, url := sqsLake(t, "shared", "shared-events")
	args := []string{"run", "--root", root, "--s3-path-style", "--catalog", dsn, "--queue", "shared-events",
		"--settle", "0", "--rescan", "2s", "--claim-ttl", "3s", "--prepare-batch-files", "3", "--max-batch-files", "4",
		// maintenance at every pass, racing the loads: compaction, expiry down to 3 snapshots
		"--side-every", "300ms", "--maintain-every", "0s", "--snapshot-retention", "0s", "--keep-snapshots", "3",
		"--log-level", crashLogLevel}
	w := &workers{args: args}
	for range 3 {
		w.start(t)
	}
	defer w.stopAll()

	const files, rows = 60, 20
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	for i := range files {
		key, body := workerFile(t, i, rows)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("lake/" + key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		dup := fmt.Sprintf(`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"shared"},"object":{"key":%q}}}]}`, "lake/"+key)
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(dup)}); err != nil {
			t.Fatal(err)
		}
		if i%4 == 3 {
			disrupt(w, t, rng)
		}
		time.Sleep(time.Duration(50+rng.IntN(150)) * time.Millisecond)
	}

	l, err := lake.Open(ctx, lake.Config{Root: root, S3PathStyle: true, Catalog: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	w.resumeAll()
	waitFor(t, 90*time.Second, func() bool { return empty(ctx, l, "prepare/") && empty(ctx, l, "load/") })
	w.stopAll()
	for _, table := range []string{"feed.events", "feed.parquet"} {
		assertIDsOnce(t, l, table, files/2*rows)
	}
	code, out, errOut := lagoon(t, "trail", "list", "--root", root, "--s3-path-style", "--kind", "maintained", "--json")
	if code != exitOK || !strings.Contains(out, `"maintained"`) {
		t.Errorf("no maintenance in the trail (%d %s): the workers did not maintain their tables", code, errOut)
	}
}

type workers struct {
	args   []string
	mu     sync.Mutex
	cmds   []*exec.Cmd
	paused sync.WaitGroup
}

func (w *workers) start(tb testing.TB) {
	tb.Helper()
	cmd := exec.Command(lagoonBin, w.args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w.mu.Lock()
	w.cmds = append(w.cmds, cmd)
	w.mu.Unlock()
}

// killOne SIGKILLs a random worker and starts a new one in its place.
func (w *workers) killOne(tb testing.TB, rng *rand.Rand) {
	tb.Helper()
	w.mu.Lock()
	i := rng.IntN(len(w.cmds))
	victim := w.cmds[i]
	w.cmds = append(w.cmds[:i], w.cmds[i+1:]...)
	w.mu.Unlock()
	victim.Process.Signal(syscall.SIGKILL)
	victim.Wait()
	w.start(tb)
}

// pauseOne SIGSTOPs a random worker for 4–6 s (past the 3 s claim TTL)
// and then resumes it; files keep arriving meanwhile.
func (w *workers) pauseOne(tb testing.TB, rng *rand.Rand) {
	tb.Helper()
	w.mu.Lock()
	victim := w.cmds[rng.IntN(len(w.cmds))]
	w.mu.Unlock()
	if err := victim.Process.Signal(syscall.SIGSTOP); err != nil {
		tb.Fatal(err)
	}
	pause := time.Duration(4000+rng.IntN(2000)) * time.Millisecond
	w.paused.Add(1)
	go func() { // ends after pause; resumeAll waits for it
		defer w.paused.Done()
		time.Sleep(pause)
		victim.Process.Signal(syscall.SIGCONT)
	}()
}

// resumeAll waits for every paused worker to be resumed.
func (w *workers) resumeAll() { w.paused.Wait() }

func (w *workers) stopAll() {
	w.resumeAll()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range w.cmds {
		c.Wait()
	}
	w.cmds = nil
}

// workerFile makes file i: even ones NDJSON under prepare/ (table
// feed.events), odd ones Parquet under load/ (feed.parquet); ids of each
// table run from 0 without gaps.
func workerFile(tb testing.TB, i, rows int) (string, []byte) {
	base := i / 2 * rows
	if i%2 == 1 {
		return fmt.Sprintf("load/feed/parquet/p%03d.parquet", i), lakefixture.ParquetBytes(tb, lakefixture.Ints(base, rows))
	}
	var b bytes.Buffer
	for j := range rows {
		fmt.Fprintf(&b, "{\"id\":%d,\"v\":\"x%d\"}\n", base+j, j)
	}
	return fmt.Sprintf("prepare/feed/events/e%03d.ndjson", i), b.Bytes()
}

func empty(ctx context.Context, l *lake.Lake, prefix string) bool {
	for info, err := range l.Store.List(ctx, prefix) {
		if err != nil || !lake.Ignored(info.Key) {
			return false
		}
	}
	return true
}

// assertIDsOnce checks that a table's id column holds 0..want-1 once each.
func assertIDsOnce(tb testing.TB, l *lake.Lake, name string, want int) {
	tb.Helper()
	ref, _ := lake.ParseTableRef(name)
	tbl, err := l.LoadTable(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := lake.ReadTable(context.Background(), tbl, -1)
	if err != nil {
		tb.Fatal(err)
	}
	defer data.Release()
	seen := map[int64]int{}
	tr := array.NewTableReader(data, 4096)
	defer tr.Release()
	idx := data.Schema().FieldIndices("id")[0]
	for tr.Next() {
		ids := tr.RecordBatch().Column(idx).(*array.Int64)
		for i := range ids.Len() {
			seen[ids.Value(i)]++
		}
	}
	missing, dups := 0, 0
	for id := range int64(want) {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			dups++
		}
	}
	if int(data.NumRows()) != want || missing+dups > 0 {
		tb.Errorf("%s: %d rows, want %d; %d ids missing, %d duplicated", name, data.NumRows(), want, missing, dups)
	}
}
