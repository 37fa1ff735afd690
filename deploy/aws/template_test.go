package aws_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.yaml.in/yaml/v3"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

func template(t *testing.T) (string, map[string]any) {
	t.Helper()
	b, err := os.ReadFile("lagoon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return string(b), doc
}

func resources(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range doc["Resources"].(map[string]any) {
		out[name] = r.(map[string]any)
	}
	return out
}

func props(r map[string]any) map[string]any { p, _ := r["Properties"].(map[string]any); return p }

// TestTemplateStructure: the stack has what the design promises — a queue
// with a dead-letter queue, the bucket's notifications for prepare/ and
// load/ into it, a function consuming it with partial batch failures, a
// Glue database, an Athena workgroup writing to the lake's queries/ — and
// its role is least privilege: no "*" action, no service-wide wildcard,
// no data action on every resource.
func TestTemplateStructure(t *testing.T) {
	_, doc := template(t)
	rs := resources(doc)
	count := map[string]int{}
	for _, r := range rs {
		count[r["Type"].(string)]++
	}
	for typ, n := range map[string]int{"AWS::SQS::Queue": 2, "AWS::SQS::QueuePolicy": 1, "AWS::S3::Bucket": 1, "AWS::IAM::Role": 1,
		"AWS::Lambda::Function": 1, "AWS::Lambda::EventSourceMapping": 1, "AWS::Glue::Database": 1, "AWS::Athena::WorkGroup": 1} {
		if count[typ] != n {
			t.Errorf("%d of %s, want %d", count[typ], typ, n)
		}
	}
	if rp, _ := props(rs["EventQueue"])["RedrivePolicy"].(map[string]any); rp == nil || rp["maxReceiveCount"] == nil {
		t.Errorf("the event queue has no dead-letter queue")
	}
	qcs := props(rs["LakeBucket"])["NotificationConfiguration"].(map[string]any)["QueueConfigurations"].([]any)
	if len(qcs) != 2 || !strings.Contains(fmt.Sprint(qcs), "/prepare/") || !strings.Contains(fmt.Sprint(qcs), "/load/") {
		t.Errorf("bucket notifications: %v", qcs)
	}
	if frt := fmt.Sprint(props(rs["EventSource"])["FunctionResponseTypes"]); frt != "[ReportBatchItemFailures]" {
		t.Errorf("the event source mapping reports no partial batch failures: %s", frt)
	}
	out := fmt.Sprint(props(rs["Workgroup"])["WorkGroupConfiguration"])
	if !strings.Contains(out, "/queries/") {
		t.Errorf("the workgroup's results do not go to queries/: %s", out)
	}
	checkLeastPrivilege(t, props(rs["LagoonRole"]))
}

func checkLeastPrivilege(t *testing.T, role map[string]any) {
	t.Helper()
	n := 0
	for _, p := range role["Policies"].([]any) {
		for _, st := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := st.(map[string]any)
			actions := s["Action"]
			list, ok := actions.([]any)
			if !ok {
				list = []any{actions}
			}
			for _, a := range list {
				n++
				if a == "*" || strings.HasSuffix(a.(string), ":*") {
					t.Errorf("statement %v allows %v", s["Sid"], a)
				}
			}
			if s["Resource"] == "*" {
				t.Errorf("statement %v is on every resource", s["Sid"])
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d actions: the role cannot work", n)
	}
}

// motoLacks are the resource types moto's CloudFormation does not make
// (it skips them): the stack completes without them.
var motoLacks = []string{"AWS::SQS::QueuePolicy", "AWS::Glue::Database", "AWS::Athena::WorkGroup"}

// TestTemplateDeploysToMoto: the stack is created on moto's
// CloudFormation, CREATE_COMPLETE, with the bucket, the queues, the role,
// the function and its event source.
func TestTemplateDeploysToMoto(t *testing.T) {
	lakefixture.Moto(t)
	body, _ := template(t)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cf := cloudformation.NewFromConfig(cfg)
	_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("lagoon"), TemplateBody: aws.String(body),
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam},
		Parameters: []cftypes.Parameter{{ParameterKey: aws.String("BucketName"), ParameterValue: aws.String("lake-bucket")},
			{ParameterKey: aws.String("ImageUri"), ParameterValue: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/lagoon:latest")}}})
	if err != nil {
		t.Fatal(err)
	}
	var st *cftypes.Stack
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("lagoon")})
		if err != nil {
			t.Fatal(err)
		}
		st = &out.Stacks[0]
		if !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			break
		}
	}
	if st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	res, err := cf.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("lagoon")})
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	for _, r := range res.StackResourceSummaries {
		made[aws.ToString(r.ResourceType)] = true
	}
	for _, typ := range []string{"AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping"} {
		if !made[typ] {
			t.Errorf("no %s made; made %v (moto lacks %v)", typ, made, motoLacks)
		}
	}
	// moto's CloudFormation makes the bucket but does not apply its
	// NotificationConfiguration (TestTemplateStructure checks it is there).
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(ctx,
		&s3.HeadBucketInput{Bucket: aws.String("lake-bucket")}); err != nil {
		t.Errorf("the lake bucket: %v", err)
	}
	t.Logf("made %v; moto's CloudFormation lacks %v", made, motoLacks)
}
