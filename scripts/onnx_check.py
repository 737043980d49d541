#!/usr/bin/python3
"""Check ONNX models with the reference checker of the `onnx` Python package.

Usage: /usr/bin/python3 scripts/onnx_check.py MODEL.onnx [MODEL.onnx ...]

Runs onnx.checker.check_model(path, full_check=True) on each model (by path,
so that external data files beside the model are checked too) and prints one
line per model:

    OK    path
    SKIP  path: reason
    FAIL  path: error

A model newer than the installed onnx package understands (IR version or
default-domain opset beyond what it supports; Debian's python3-onnx 1.12
stops at IR 8 and opset 17) is reported as SKIP, not as a failure. Exits 1
if any model failed, 2 on bad usage or a missing onnx package, 0 otherwise.
"""

import sys


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        import onnx
        import onnx.checker
        import onnx.defs
    except ImportError as e:
        print(f"onnx_check: the onnx Python package is missing ({e}); "
              "install it with: apt-get install python3-onnx", file=sys.stderr)
        return 2
    max_ir = onnx.IR_VERSION
    max_opset = onnx.defs.onnx_opset_version()
    failed = 0
    for path in argv[1:]:
        try:
            # Header only: no external data, cheap even for large models.
            m = onnx.load(path, load_external_data=False)
        except Exception as e:  # noqa: BLE001 - report any load error
            print(f"FAIL  {path}: cannot load: {e}")
            failed += 1
            continue
        reason = None
        if m.ir_version > max_ir:
            reason = (f"IR version {m.ir_version} is newer than onnx "
                      f"{onnx.__version__} supports (<= {max_ir})")
        else:
            for imp in m.opset_import:
                if imp.domain in ("", "ai.onnx") and imp.version > max_opset:
                    reason = (f"opset {imp.version} is newer than onnx "
                              f"{onnx.__version__} supports (<= {max_opset})")
        if reason:
            print(f"SKIP  {path}: {reason}")
            continue
        try:
            onnx.checker.check_model(path, full_check=True)
        except Exception as e:  # noqa: BLE001 - report any checker error
            msg = " ".join(str(e).split())
            print(f"FAIL  {path}: {type(e).__name__}: {msg}")
            failed += 1
            continue
        print(f"OK    {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
