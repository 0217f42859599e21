// A Lambda function in Go for Kappa's `provided` runtime: the binary is the
// runtime's `bootstrap`, built with AWS's own Go runtime client (aws-lambda-go),
// exactly as for Lambda's provided.al2023.
package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Name string `json:"name"`
}

type response struct {
	Message   string `json:"message"`
	Function  string `json:"function"`
	RequestID string `json:"requestId"`
	Go        string `json:"go"`
}

func handle(ctx context.Context, in request) (response, error) {
	if in.Name == "" {
		in.Name = "world"
	}
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("greeting %s\n", in.Name) // a line in the function's log, between START and END
	return response{
		Message:   fmt.Sprintf("Hello, %s!", in.Name),
		Function:  lambdacontext.FunctionName,
		RequestID: lc.AwsRequestID,
		Go:        runtime.Version(),
	}, nil
}

func main() {
	lambda.Start(handle)
}
