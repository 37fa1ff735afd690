package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lagoon-dev/lagoon/lake"
)

// notifyIDPrefix marks the notification configurations lagoon owns.
const notifyIDPrefix = "lagoon-"

// ConfigureS3ToSQS makes the bucket send "object created" notifications
// for <prefix>prepare/ and <prefix>load/ to the queue. It keeps the
// bucket's other notification configurations, replaces lagoon's own, and
// gives the queue a policy letting the bucket send to it when the queue
// has no policy yet (an existing policy is left alone). Idempotent.
func ConfigureS3ToSQS(ctx context.Context, s3c *s3.Client, sqsc *sqs.Client, bucket, prefix, queue string) error {
	url, err := QueueURL(ctx, sqsc, queue)
	if err != nil {
		return err
	}
	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNamePolicy}})
	if err != nil {
		return fmt.Errorf("queue %s attributes: %w", queue, err)
	}
	arn := attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if attrs.Attributes[string(sqstypes.QueueAttributeNamePolicy)] == "" {
		if err := allowBucket(ctx, sqsc, url, arn, bucket); err != nil {
			return err
		}
	}
	cur, err := s3c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("bucket %s notifications: %w", bucket, err)
	}
	cfg := &s3types.NotificationConfiguration{
		TopicConfigurations:          cur.TopicConfigurations,
		LambdaFunctionConfigurations: cur.LambdaFunctionConfigurations,
		EventBridgeConfiguration:     cur.EventBridgeConfiguration,
	}
	for _, q := range cur.QueueConfigurations {
		if !strings.HasPrefix(aws.ToString(q.Id), notifyIDPrefix) {
			cfg.QueueConfigurations = append(cfg.QueueConfigurations, q)
		}
	}
	for _, zone := range []string{lake.PrefixPrepare, lake.PrefixLoad} {
		cfg.QueueConfigurations = append(cfg.QueueConfigurations, s3types.QueueConfiguration{
			Id:       aws.String(notifyIDPrefix + strings.TrimSuffix(zone, "/")),
			QueueArn: aws.String(arn),
			Events:   []s3types.Event{s3types.EventS3ObjectCreated},
			Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{
				{Name: s3types.FilterRuleNamePrefix, Value: aws.String(prefix + zone)},
			}}},
		})
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket), NotificationConfiguration: cfg}); err != nil {
		return fmt.Errorf("bucket %s notifications: %w", bucket, err)
	}
	return nil
}

func allowBucket(ctx context.Context, sqsc *sqs.Client, url, queueARN, bucket string) error {
	policy, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid": "lagoon-s3-notifications", "Effect": "Allow",
			"Principal": map[string]string{"Service": "s3.amazonaws.com"},
			"Action":    "sqs:SendMessage", "Resource": queueARN,
			"Condition": map[string]any{"ArnLike": map[string]string{"aws:SourceArn": "arn:aws:s3:::" + bucket}},
		}},
	})
	_, err := sqsc.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): string(policy)}})
	if err != nil {
		return fmt.Errorf("queue policy: %w", err)
	}
	return nil
}
