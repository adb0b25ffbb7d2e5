"""Shared fixtures: the real embedded model, loaded once per test session."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI does (evolve/__init__.py)

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="session")
def lite0():
    """EfficientNet-Lite0 on the CPU, from the embedded weights package."""
    from scorers import load_model

    return load_model("efficientnet-lite0", "cpu")


@pytest.fixture(scope="session")
def cuda_device():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return torch.device("cuda")
