// A Lambda function built with AWS's Go runtime client (aws-lambda-go),
// used as a `provided` runtime's bootstrap in the agent's integration tests.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Message string `json:"message"`
	Fail    bool   `json:"fail"`
	SleepMs int    `json:"sleep_ms"`
}

type reply struct {
	Message      string            `json:"message"`
	RequestID    string            `json:"request_id"`
	FunctionArn  string            `json:"function_arn"`
	FunctionName string            `json:"function_name"`
	RemainingMs  int64             `json:"remaining_ms"`
	DeadlineMs   int64             `json:"deadline_ms"`
	Custom       map[string]string `json:"custom"`
	Pid          int               `json:"pid"`
}

func handle(ctx context.Context, in event) (reply, error) {
	fmt.Printf("go handler got %q\n", in.Message)
	if in.Fail {
		return reply{}, errors.New("go handler failed on purpose")
	}
	time.Sleep(time.Duration(in.SleepMs) * time.Millisecond)
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	return reply{
		Message:      in.Message,
		RequestID:    lc.AwsRequestID,
		FunctionArn:  lc.InvokedFunctionArn,
		FunctionName: lambdacontext.FunctionName,
		RemainingMs:  time.Until(deadline).Milliseconds(),
		DeadlineMs:   deadline.UnixMilli(),
		Custom:       lc.ClientContext.Custom,
		Pid:          os.Getpid(),
	}, nil
}

func main() {
	lambda.Start(handle)
}
