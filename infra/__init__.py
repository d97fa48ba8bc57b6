"""CDK constructs and the flow declarations they are built from."""
