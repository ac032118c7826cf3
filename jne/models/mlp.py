"""Residual MLP encoding model.

The architecture of Gao et al. (NeurIPS 2025, "Jacobian-Based
Interpretation of Nonlinear Neural Encoding Model"), generalised to any
number of residual blocks::

    h_0 = phi(W_in x)
    h_k = phi(W_k h_{k-1}) + h_{k-1}        for k = 1 .. n_blocks
    y   = W_out h_{n_blocks}

With ``activation="identity"`` the network is linear in ``x`` (the paper's
"linear" encoding model). Its Jacobian has the closed form
``W_out (I + D_n W_n) ... (I + D_1 W_1) D_0 W_in`` with
``D_k = diag(phi'(pre-activation k))``, which ``jne.jacobian`` uses.
"""

import math

import torch
from torch import nn

from jne.errors import ConfigError


def _identity_grad(x):
    return torch.ones_like(x)


def _relu_grad(x):
    return (x > 0).to(x.dtype)


def _tanh_grad(x):
    return 1.0 - torch.tanh(x) ** 2


def _gelu_grad(x):
    # Exact (erf) GELU: d/dx [x Phi(x)] = Phi(x) + x phi(x).
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def _silu_grad(x):
    sigmoid = torch.sigmoid(x)
    return sigmoid * (1.0 + x * (1.0 - sigmoid))


# Name -> (activation, derivative). The derivative is used by the
# closed-form Jacobian; both must stay in sync with torch's definitions.
ACTIVATIONS = {
    "identity": (lambda x: x, _identity_grad),
    "relu": (torch.relu, _relu_grad),
    "tanh": (torch.tanh, _tanh_grad),
    "gelu": (nn.functional.gelu, _gelu_grad),
    "silu": (nn.functional.silu, _silu_grad),
}


class ResidualMLP(nn.Module):
    """Residual MLP mapping stimulus features to voxel responses.

    Parameters
    ----------
    n_features : int
        Input dimension D.
    n_voxels : int
        Output dimension M.
    hidden_size : int, default=1024
        Width H of every hidden layer.
    n_blocks : int, default=2
        Number of residual blocks after the input layer.
    activation : {"relu", "gelu", "tanh", "silu", "identity"}, default="relu"
    bias : bool, default=False
        Whether the linear layers have a bias term.
    dropout : float, default=0.0
        Dropout probability after each activation (training only).
    """

    def __init__(
        self,
        n_features,
        n_voxels,
        hidden_size=1024,
        n_blocks=2,
        activation="relu",
        bias=False,
        dropout=0.0,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"Invalid activation {activation!r}: choose one of "
                f"{', '.join(sorted(ACTIVATIONS))}."
            )
        if n_blocks < 0:
            raise ConfigError(f"n_blocks must be >= 0, got {n_blocks}.")
        self.config = dict(
            n_features=int(n_features),
            n_voxels=int(n_voxels),
            hidden_size=int(hidden_size),
            n_blocks=int(n_blocks),
            activation=activation,
            bias=bool(bias),
            dropout=float(dropout),
        )
        self.activation = activation
        self.input_layer = nn.Linear(n_features, hidden_size, bias=bias)
        self.blocks = nn.ModuleList(
            nn.Linear(hidden_size, hidden_size, bias=bias)
            for _ in range(n_blocks)
        )
        self.output_layer = nn.Linear(hidden_size, n_voxels, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def phi(self, x):
        """Apply the activation function."""
        return ACTIVATIONS[self.activation][0](x)

    def phi_grad(self, x):
        """Apply the derivative of the activation function elementwise."""
        return ACTIVATIONS[self.activation][1](x)

    def hidden(self, x):
        """Return the last hidden state, array of shape (n, hidden_size)."""
        h = self.dropout(self.phi(self.input_layer(x)))
        for block in self.blocks:
            h = self.dropout(self.phi(block(h))) + h
        return h

    def forward(self, x):
        """Predict responses of shape (n, n_voxels) from (n, n_features)."""
        return self.output_layer(self.hidden(x))
