"""Wave 5: each embedded Lite network as trained against the folded one `load_model` returns:
logits and input-gradient agreement on random images, then forward+backward of 4 images and
forward of 8 at native size, best-of-5 mean seconds. usage: python docs/measure/fold_speed.py"""
import time

import torch

from scorers.models import EMBEDDED, embedded_network, load_model


def trained(name: str) -> torch.nn.Module:
    net = embedded_network(name, folded=False).requires_grad_(False)
    return net.to(memory_format=torch.channels_last)


def seconds(work, repeat: int = 5) -> float:
    work()
    start = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    for name in EMBEDDED:
        folded, reference = load_model(name), trained(name)
        size = folded.input_size
        x = (torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0)) - 0.5) / 0.5
        x = x.contiguous(memory_format=torch.channels_last)
        inputs = [x.clone().requires_grad_(True) for _ in range(2)]
        outs = [net(i) for net, i in zip((reference, folded.net), inputs)]
        for out in outs:
            out.logsumexp(1).sum().backward()
        cosine = torch.nn.functional.cosine_similarity(inputs[0].grad.flatten(),
                                                       inputs[1].grad.flatten(), 0)
        print(f"{name}: logits max |diff| {(outs[0] - outs[1]).abs().max():.1e}, "
              f"input-gradient cosine {cosine:.5f}")
        for label, net in (("as trained", reference), ("folded", folded.net)):
            both = seconds(lambda: net(x.clone().requires_grad_(True)).sum().backward())
            with torch.inference_mode():
                forward = seconds(lambda: net(torch.cat([x, x])))
            print(f"  {label:<10s} forward+backward ×4 {both * 1000:6.0f} ms   "
                  f"forward ×8 {forward * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
