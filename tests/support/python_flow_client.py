"""A gRPC client nobody here wrote by hand: stubs from Debian's protoc + grpc_python_plugin.

Usage: python3 python_flow_client.py <stubs dir> <host:port> < plan.json > results.json

The plan lists calls: {"rpc": "TellJoke", "request": {...JSON...}, "stream": bool,
"timeout": seconds or null}. Each call's result is {"response": ...} (unary), {"messages": [...]}
(stream) or {"code": "INVALID_ARGUMENT", "details": "..."} when the call ends with an error.
Messages are printed as proto JSON (json_format.MessageToDict, every field included).
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from genkit.flows.v1 import flows_pb2, flows_pb2_grpc  # noqa: E402


def as_json(message):
    try:
        return json_format.MessageToDict(message, including_default_value_fields=True)
    except TypeError:  # protobuf >= 5.26 renamed the option
        return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def call(stub, step):
    request = json_format.ParseDict(step["request"], getattr(flows_pb2, step["rpc"] + "Request")())
    method = getattr(stub, step["rpc"])
    try:
        if step.get("stream"):
            return {"messages": [as_json(m) for m in method(request, timeout=step.get("timeout"))]}
        return {"response": as_json(method(request, timeout=step.get("timeout")))}
    except grpc.RpcError as error:
        return {"code": error.code().name, "details": error.details()}


def main():
    plan = json.load(sys.stdin)
    with grpc.insecure_channel(sys.argv[2]) as channel:
        stub = flows_pb2_grpc.FlowServiceStub(channel)
        json.dump([call(stub, step) for step in plan], sys.stdout)


main()
