"""ONNX Runtime export, exact graph rewrites and int8 quantisation: run by the runner and the CLIs only (the
pipeline and `evaluate` touch `int8.py` for the calibration file alone: `Int8Calibration`, `find_calibration`)."""
