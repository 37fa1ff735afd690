package aws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
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
	for typ, n := range map[string]int{"AWS::SQS::Queue": 2, "AWS::SQS::QueuePolicy": 1, "AWS::S3::Bucket": 1, "AWS::IAM::Role": 2,
		"AWS::Lambda::Function": 1, "AWS::Lambda::EventSourceMapping": 1, "AWS::Events::Rule": 1, "AWS::Lambda::Permission": 1,
		"AWS::Glue::Database": 1, "AWS::Athena::WorkGroup": 1, "AWS::ECS::Cluster": 1, "AWS::ECS::TaskDefinition": 1, "AWS::ECS::Service": 1,
		"AWS::ApplicationAutoScaling::ScalableTarget": 1, "AWS::ApplicationAutoScaling::ScalingPolicy": 1} {
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
	checkVariants(t, rs)
}

// checkVariants: the function's resources are made only with Compute
// lambda (with a scheduled sweep allowed to invoke it), the workers' only
// with ecs (scaled on the queue's visible messages per worker, their
// execution role holding AWS's managed policy for pulling and logging
// alone).
func checkVariants(t *testing.T, rs map[string]map[string]any) {
	t.Helper()
	for name, r := range rs {
		typ := r["Type"].(string)
		want := map[string]string{"Lambda": "UseLambda", "Events": "UseLambda", "ECS": "UseECS", "ApplicationAutoScaling": "UseECS", "Logs": "UseECS"}[strings.Split(typ, "::")[1]]
		if name == "WorkerExecutionRole" {
			want = "UseECS"
		}
		if r["Condition"] != nil && r["Condition"] != want || r["Condition"] == nil && want != "" {
			t.Errorf("%s (%s) has condition %v, want %q", name, typ, r["Condition"], want)
		}
	}
	if sched := props(rs["Sweep"])["ScheduleExpression"]; sched == nil || props(rs["SweepPermission"])["Principal"] != "events.amazonaws.com" {
		t.Errorf("no scheduled sweep: %v %v", sched, props(rs["SweepPermission"]))
	}
	policy := fmt.Sprint(props(rs["WorkerScalingPolicy"]))
	for _, s := range []string{"TargetTrackingScaling", "ApproximateNumberOfMessagesVisible", "RunningTaskCount", "visible / workers"} {
		if !strings.Contains(policy, s) {
			t.Errorf("the workers' scaling lacks %q: %s", s, policy)
		}
	}
	exec := props(rs["WorkerExecutionRole"])
	if exec["Policies"] != nil || fmt.Sprint(exec["ManagedPolicyArns"]) != "[arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy]" {
		t.Errorf("the execution role: %v", exec)
	}
	task := fmt.Sprint(props(rs["WorkerTask"]))
	if !strings.Contains(task, "TaskRoleArn:map[Fn::GetAtt:[LagoonRole Arn]]") || !strings.Contains(task, "Command:[run --queue") {
		t.Errorf("the workers' task: %s", task)
	}
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
var motoLacks = []string{"AWS::SQS::QueuePolicy", "AWS::Glue::Database", "AWS::Athena::WorkGroup",
	"AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy"}

// TestTemplateDeploysToMoto: each variant's stack is created on moto's
// CloudFormation, CREATE_COMPLETE, with the bucket, the queues, the role
// and the variant's consumer.
func TestTemplateDeploysToMoto(t *testing.T) {
	lakefixture.Moto(t)
	for _, tc := range []struct {
		compute string
		params  map[string]string
		want    []string
	}{
		{"lambda", nil, []string{"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::Events::Rule", "AWS::Lambda::Permission"}},
		{"ecs", map[string]string{"Subnets": "subnet-0a1b2c3d", "SecurityGroups": "sg-0a1b2c3d"},
			[]string{"AWS::ECS::Cluster", "AWS::ECS::TaskDefinition", "AWS::ECS::Service", "AWS::Logs::LogGroup"}},
	} {
		t.Run(tc.compute, func(t *testing.T) {
			params := map[string]string{"BucketName": "lake-" + tc.compute, "Compute": tc.compute,
				"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/lagoon:latest"}
			for k, v := range tc.params {
				params[k] = v
			}
			made := deploy(t, "lagoon-"+tc.compute, params)
			for _, typ := range append([]string{"AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::IAM::Role"}, tc.want...) {
				if !made[typ] {
					t.Errorf("no %s made; made %v (moto lacks %v)", typ, made, motoLacks)
				}
			}
			t.Logf("made %v; moto's CloudFormation lacks %v", made, motoLacks)
			if tc.compute == "ecs" {
				applyScaling(t, "lagoon-ecs")
			}
		})
	}
}

// deploy creates a stack on moto, waits for it to complete and returns
// the types of the resources made. moto's CloudFormation makes the bucket
// but does not apply its NotificationConfiguration (TestTemplateStructure
// checks it is there).
func deploy(t *testing.T, name string, params map[string]string) map[string]bool {
	t.Helper()
	body, _ := template(t)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cf := cloudformation.NewFromConfig(cfg)
	var ps []cftypes.Parameter
	for k, v := range params {
		ps = append(ps, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(body),
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam}, Parameters: ps})
	if err != nil {
		t.Fatal(err)
	}
	var st *cftypes.Stack
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
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
	res, err := cf.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	for _, r := range res.StackResourceSummaries {
		if typ := aws.ToString(r.ResourceType); typ != "" { // moto lists resources whose condition is false without a type
			made[typ] = true
		}
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(ctx,
		&s3.HeadBucketInput{Bucket: aws.String(params["BucketName"])}); err != nil {
		t.Errorf("the lake bucket: %v", err)
	}
	return made
}

// applyScaling makes the workers' scaling, which moto's CloudFormation
// skips, through moto's Application Auto Scaling API from the template's
// own properties (references resolved to what the stack made), and checks
// the policy is kept as written: target tracking on the queue's visible
// messages per running worker.
func applyScaling(t *testing.T, stack string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cloudformation.NewFromConfig(cfg).ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	if err != nil {
		t.Fatal(err)
	}
	phys := map[string]string{}
	for _, r := range res.StackResourceSummaries {
		id := aws.ToString(r.PhysicalResourceId)
		phys[aws.ToString(r.LogicalResourceId)] = id[strings.LastIndex(id, "/")+1:] // names, not ARNs
	}
	refs := map[string]any{"MaxWorkers": 10, "MessagesPerWorker": 100, "Cluster": phys["Cluster"],
		"EventQueue.QueueName": phys["EventQueue"], "WorkerService.Name": phys["WorkerService"], "WorkerScaling": "the target"}
	_, doc := template(t)
	rs := resources(doc)
	target := resolve(t, props(rs["WorkerScaling"]), refs).(map[string]any)
	target["ResourceId"] = "service/" + phys["Cluster"] + "/" + phys["WorkerService"] // the template's Fn::Sub
	var st applicationautoscaling.RegisterScalableTargetInput
	remarshal(t, target, &st)
	aas := applicationautoscaling.NewFromConfig(cfg)
	if _, err := aas.RegisterScalableTarget(ctx, &st); err != nil {
		t.Fatal(err)
	}
	policy := resolve(t, props(rs["WorkerScalingPolicy"]), refs).(map[string]any)
	delete(policy, "ScalingTargetId")
	policy["ServiceNamespace"], policy["ResourceId"], policy["ScalableDimension"] = st.ServiceNamespace, st.ResourceId, st.ScalableDimension
	var pi applicationautoscaling.PutScalingPolicyInput
	remarshal(t, policy, &pi)
	if _, err := aas.PutScalingPolicy(ctx, &pi); err != nil {
		t.Fatal(err)
	}
	out, err := aas.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: st.ServiceNamespace})
	if err != nil || len(out.ScalingPolicies) != 1 {
		t.Fatalf("policies: %+v %v", out, err)
	}
	got := out.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration
	if got == nil || aws.ToFloat64(got.TargetValue) != 100 || len(got.CustomizedMetricSpecification.Metrics) != 3 ||
		aws.ToString(got.CustomizedMetricSpecification.Metrics[2].Expression) != "visible / workers" ||
		aws.ToString(got.CustomizedMetricSpecification.Metrics[0].MetricStat.Metric.MetricName) != "ApproximateNumberOfMessagesVisible" {
		t.Errorf("the policy kept: %+v", got)
	}
}

// resolve replaces the template's Ref and Fn::GetAtt by refs' values.
func resolve(t *testing.T, v any, refs map[string]any) any {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["Ref"]; ok && len(v) == 1 {
			return lookup(t, fmt.Sprint(r), refs)
		}
		if r, ok := v["Fn::GetAtt"].([]any); ok && len(v) == 1 {
			return lookup(t, fmt.Sprintf("%v.%v", r[0], r[1]), refs)
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = resolve(t, e, refs)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = resolve(t, e, refs)
		}
		return out
	}
	return v
}

func lookup(t *testing.T, name string, refs map[string]any) any {
	t.Helper()
	v, ok := refs[name]
	if !ok {
		t.Fatalf("the test cannot resolve %s", name)
	}
	return v
}

// remarshal fills an SDK input from template properties, whose names
// are the API's.
func remarshal(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		t.Fatal(err)
	}
}
