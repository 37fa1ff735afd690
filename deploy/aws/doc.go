// Package aws holds lagoon's CloudFormation template (lagoon.yaml) and
// its tests: its structure (least privilege, the queue's redrive, partial
// batch failures) and a deployment to moto's CloudFormation.
package aws
