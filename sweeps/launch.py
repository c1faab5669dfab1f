"""Launch any sweep spec from Python, locally or on a Ray cluster.

    python sweeps/launch.py sweeps/smoke.yaml                       # local Ray on this machine
    python sweeps/launch.py sweeps/paper.yaml --address auto        # on a cluster node (after `ray up`)
    RAY_ADDRESS=ray://HEAD:10001 python sweeps/launch.py sweeps/paper.yaml   # Ray Client from a laptop
    python sweeps/launch.py --resume s3://bucket/codemix/paper      # continue an interrupted sweep
    python sweeps/launch.py sweeps/smoke.yaml --set eval.limit=1 --set storage=/shared/runs   # override fields

From a laptop the usual way is a Ray job, which keeps running if your laptop disconnects:

    ray job submit --address http://HEAD:8265 --working-dir . -- python sweeps/launch.py sweeps/paper.yaml
"""

import argparse
import sys

import yaml

import codemix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", nargs="?", help="sweep spec YAML")
    parser.add_argument("--resume", metavar="EXPERIMENT", help="experiment folder or URI to continue")
    parser.add_argument("--retry-failed", action="store_true", help="with --resume: rerun failed trials too")
    parser.add_argument("--address", default=None, help="Ray address ('auto' on a cluster node; default $RAY_ADDRESS)")
    parser.add_argument("--name", default=None, help="override the spec's experiment name")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field, as in `codemix run --set` (repeatable)")
    args = parser.parse_args()
    if args.resume:
        outcome = codemix.resume(args.resume, retry_failed=args.retry_failed, address=args.address)
    elif args.spec:
        overrides = {k: yaml.safe_load(v) for k, _, v in (item.partition("=") for item in args.set)}
        spec = codemix.load_spec(args.spec, {**overrides, **({"name": args.name} if args.name else {})})
        outcome = codemix.run_sweep(spec, address=args.address)
    else:
        parser.error("give a spec or --resume EXPERIMENT")
    sys.exit(3 if outcome.failed else 0)  # as `codemix run`: 3 = finished, some trials failed or were lost


if __name__ == "__main__":
    main()
