"""Writes TensorBoard event files with tensorboard's own writer, for the tfevents reader tests.

  make_tfevents.py basic LOGDIR    one file of every kind the reader handles; prints what it wrote (JSON)
  make_tfevents.py bulk LOGDIR N   N simple_value scalars over 10 tags; prints the file's path
  make_tfevents.py grow LOGDIR     reads "N" lines on stdin, writes N more scalars, flushes, prints the path
  make_tfevents.py writers LOGDIR  tensorboardX's and torch's SummaryWriter (scalars plain, and torch's as float
                                   and double tensors, hparams, text) into LOGDIR/tbx and LOGDIR/torch; prints, per folder,
                                   the scalars read back with tensorboard's EventAccumulator, the hparams and texts

Values are printed as the file holds them (simple_value is float32), non-finite ones as
"NaN", "Infinity", "-Infinity", so the test compares exactly.
"""

import glob
import json
import math
import os
import struct
import sys

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def wire(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def event(step, wall, values):
    return event_pb2.Event(step=step, wall_time=wall, summary=summary_pb2.Summary(value=values))


def only_file(logdir):
    """The file this writer wrote: the newest one (a folder may already hold an older run's)."""
    return max(glob.glob(os.path.join(logdir, "events.out.tfevents.*")), key=os.path.getmtime)


def basic(logdir):
    w = EventFileWriter(logdir)
    scalars = []

    def scalar(tag, step, wall, value, kind):
        if kind == "simple":
            v = summary_pb2.Summary.Value(tag=tag, simple_value=value)
            value = f32(value)
        else:
            dtype = {"float": np.float32, "double": np.float64, "half": np.float16}[kind]
            arr = np.array(value, dtype=dtype)
            v = summary_pb2.Summary.Value(
                tag=tag,
                tensor=tensor_util.make_tensor_proto(arr),
                metadata=scalar_metadata.create_summary_metadata(display_name=tag, description=""),
            )
            value = float(arr)
        w.add_event(event(step, wall, [v]))
        scalars.append({"tag": tag, "step": step, "time": wall, "value": wire(value)})

    w.add_event(event_pb2.Event(wall_time=1700000000.0, summary=hparams_summary.hparams_pb(
        {"lr": 0.01, "optimizer": "adam", "deep": True, "layers": 4})))
    wall = 1700000000.25
    for step, v in enumerate([0.5, 0.1, float("nan"), float("inf"), float("-inf"), 1e-3, 3.0e38]):
        scalar("loss", step, wall + step, v, "simple")
    for step, v in enumerate([1.25, float("nan")]):
        scalar("t/float", step, wall + 10 + step, v, "float")
    for step, v in enumerate([0.1, 1e300, float("-inf")]):
        scalar("t/double", step, wall + 20 + step, v, "double")
    for step, v in enumerate([1.5, 65504.0, 6e-8, float("inf")]):
        scalar("t/half", step, wall + 30 + step, v, "half")
    texts = [{"tag": "notes", "step": 3, "time": wall + 40, "text": "hello world"}]
    tv = summary_pb2.Summary.Value(
        tag="notes",
        tensor=tensor_util.make_tensor_proto(np.array(b"hello world", dtype=object)),
        metadata=text_metadata.create_summary_metadata(display_name="notes", description=""),
    )
    w.add_event(event(3, wall + 40, [tv]))
    histo = summary_pb2.HistogramProto(min=0, max=1, num=2, sum=1, sum_squares=1, bucket_limit=[1], bucket=[2])
    w.add_event(event(4, wall + 50, [summary_pb2.Summary.Value(tag="weights", histo=histo)]))
    img = summary_pb2.Summary.Image(height=1, width=1, colorspace=1, encoded_image_string=b"\x89PNG")
    w.add_event(event(5, wall + 60, [summary_pb2.Summary.Value(tag="sample", image=img)]))
    w.close()
    print(json.dumps({"file": only_file(logdir), "scalars": scalars, "texts": texts,
                      "params": {"lr": 0.01, "optimizer": "adam", "deep": True, "layers": 4},
                      "other": {"histogram": 1, "image": 1}}))


def bulk(logdir, n):
    w = EventFileWriter(logdir, max_queue_size=10000)
    tags = ["m%d" % i for i in range(10)]
    for i in range(n):
        w.add_event(event(i // 10, 1700000000.0 + i * 0.001,
                          [summary_pb2.Summary.Value(tag=tags[i % 10], simple_value=i * 0.5)]))
    w.close()
    print(only_file(logdir))


def grow(logdir):
    w = EventFileWriter(logdir, max_queue_size=10000, flush_secs=3600)
    step = 0
    for line in sys.stdin:
        for _ in range(int(line)):
            w.add_event(event(step, 1700000000.0 + step, [summary_pb2.Summary.Value(tag="loss", simple_value=step)]))
            step += 1
        w.flush()
        print(only_file(logdir), flush=True)
    w.close()


def writers(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    out = {}
    for name, cls in (("tbx", XWriter), ("torch", TorchWriter)):
        d = os.path.join(logdir, name)
        w = cls(d)
        for step in range(5):
            w.add_scalar("loss", 1.0 / (step + 1), step)
            if name == "torch":  # tensorboardX's add_scalar writes simple_value only
                w.add_scalar("acc/new_style", step * 0.25, step, new_style=True)
                w.add_scalar("acc/double", 0.1 + step, step, new_style=True, double_precision=True)
        w.add_text("notes", "epoch one done", 2)
        # add_hparams writes its own sub-folder (a run per trial), as both writers do.
        w.add_hparams({"lr": 0.01, "opt": "adam"}, {"hp/metric": 0.5})
        w.close()
        acc = EventAccumulator(d, size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        scalars = []
        for tag in acc.Tags()["scalars"]:
            scalars += [{"tag": tag, "step": e.step, "time": e.wall_time, "value": wire(e.value)} for e in acc.Scalars(tag)]
        for tag in acc.Tags()["tensors"]:
            for e in acc.Tensors(tag):
                arr = tensor_util.make_ndarray(e.tensor_proto)
                if arr.dtype.kind == "f" and arr.size == 1:
                    scalars.append({"tag": tag, "step": e.step, "time": e.wall_time, "value": wire(float(arr))})
        out[name] = {"dir": d, "scalars": scalars}
    print(json.dumps(out))


if __name__ == "__main__":
    mode, logdir = sys.argv[1], sys.argv[2]
    if mode == "basic":
        basic(logdir)
    elif mode == "bulk":
        bulk(logdir, int(sys.argv[3]))
    elif mode == "grow":
        grow(logdir)
    elif mode == "writers":
        writers(logdir)
    else:
        sys.exit("unknown mode %r" % mode)
