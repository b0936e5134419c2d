"""ONNX Runtime export, exact graph rewrites and int8 quantisation; imported only by the runner and the CLIs."""
