"""Same-machine reference for `deno task bench search`: exact inner-product top-k with PyTorch on the GPU
(torch.mm + torch.topk per query batch), the usual way to run exact search without FAISS.
Usage: python3 bench/torch_search.py <refs> <queries> <k> <dim>
  -> prints JSON {"refs", "queries", "k", "q_per_s", "device"}; exits 1 without torch or CUDA.
"""
import json
import sys
import time

import torch

refs, queries, k, dim = (int(a) for a in sys.argv[1:5])
if not torch.cuda.is_available():
    sys.exit(1)
dev = torch.device("cuda")
g = torch.Generator(device=dev).manual_seed(1)
r = torch.nn.functional.normalize(torch.randn(refs, dim, device=dev, generator=g), dim=1)
q = torch.nn.functional.normalize(torch.randn(queries, dim, device=dev, generator=g), dim=1)
batch = 1024


def run():
    out = []
    for i in range(0, queries, batch):
        s = q[i:i + batch] @ r.T
        out.append(torch.topk(s, k, dim=1))
    torch.cuda.synchronize()
    return out


run()  # warm-up
t0 = time.perf_counter()
run()
t = time.perf_counter() - t0
print(json.dumps({"refs": refs, "queries": queries, "k": k, "q_per_s": queries / t,
                  "device": torch.cuda.get_device_name(0)}))
