"""Report vocabulary: the data label and the quantities that maps contain.

Every figure, table and sidecar names its data with a :class:`DataLabel`
(dataset, subject, layer, model) and states whether the responses are
simulated. :data:`QUANTITIES` fixes the name, units and colour map of each
per-voxel quantity, so maps, colour bars and tables use the same words.
"""

import textwrap
from dataclasses import dataclass

from jne.errors import ConfigError

SIMULATED_NOTE = "Simulated responses"


@dataclass(frozen=True)
class DataLabel:
    """Identity of the data that a figure or table shows.

    Attributes
    ----------
    dataset : str
        Dataset name, e.g. ``"demo"`` or ``"nsd"``.
    subject : str
        Subject label without the ``sub-`` prefix, or a list of subjects
        written as one string (e.g. ``"01, 02"``) for group figures.
    layer : str or None
        Feature layer the models were fitted on.
    model : str or None
        Encoding model name, e.g. ``"relu"`` or ``"ridge"``.
    simulated : bool
        True when the responses are simulated. Figures then carry
        :data:`SIMULATED_NOTE` in the title and tables a ``responses``
        column with the value ``"simulated"``.
    """

    dataset: str
    subject: str
    layer: str | None = None
    model: str | None = None
    simulated: bool = False

    def text(self):
        """Return a one-line description, e.g. ``demo, sub-01, layer 6``."""
        subject = str(self.subject)
        if "," in subject:
            parts = [self.dataset, f"subjects {subject}"]
        else:
            parts = [self.dataset, f"sub-{subject}"]
        if self.layer is not None:
            parts.append(f"layer {self.layer}")
        if self.model is not None:
            parts.append(f"model {self.model}")
        return ", ".join(parts)

    @property
    def responses(self):
        """``"simulated"`` or ``"measured"``, the value of table columns."""
        return "simulated" if self.simulated else "measured"

    def add_columns(self, table, skip=()):
        """Return ``table`` with the label's fields as constant columns.

        Adds ``dataset``, ``subject``, ``layer``, ``model`` and
        ``responses`` ("simulated" or "measured"), except those in
        ``skip``, so a table read on its own still names its data.
        """
        table = table.copy()
        for key, value in self.to_dict().items():
            if key != "simulated" and key not in skip:
                table[key] = value
        return table

    def to_dict(self):
        """Return the fields as a JSON-ready dict."""
        return {
            "dataset": self.dataset,
            "subject": self.subject,
            "layer": self.layer,
            "model": self.model,
            "simulated": bool(self.simulated),
            "responses": self.responses,
        }


@dataclass(frozen=True)
class Quantity:
    """A per-voxel quantity shown in maps and colour bars.

    Attributes
    ----------
    key : str
        File-name stem, e.g. ``"r2_linear"``.
    title : str
        Human-readable name used in figure titles.
    units : str
        Short units for colour bars.
    description : str
        One or two sentences for JSON sidecars and captions.
    cmap : str
        Matplotlib colour map name.
    diverging : bool
        True for signed quantities shown with a colour scale symmetric
        around 0.
    lower : float or None
        Lower end of the colour scale for sequential quantities.
    """

    key: str
    title: str
    units: str
    description: str
    cmap: str
    diverging: bool = False
    lower: float | None = 0.0


_JNE_UNITS = "a.u."
_JNE_UNITS_LONG = (
    "response SD per feature SD, summed over features (inputs and "
    "responses are z-scored)"
)

QUANTITIES = {
    "r2_linear": Quantity(
        key="r2_linear",
        title="Test R², linear model",
        units="R² (fraction of variance)",
        description=(
            "Coefficient of determination 1 - MSE / Var(y) of the linear "
            "encoding model on the held-out test stimuli."
        ),
        cmap="viridis",
    ),
    "r2_nonlinear": Quantity(
        key="r2_nonlinear",
        title="Test R², nonlinear model",
        units="R² (fraction of variance)",
        description=(
            "Coefficient of determination 1 - MSE / Var(y) of the nonlinear "
            "encoding model on the held-out test stimuli."
        ),
        cmap="viridis",
    ),
    "r2_difference": Quantity(
        key="r2_difference",
        title="Test R², nonlinear minus linear",
        units="ΔR² (fraction of variance)",
        description=(
            "Test R² of the nonlinear model minus test R² of the linear "
            "model; positive where the nonlinear model predicts better."
        ),
        cmap="RdBu_r",
        diverging=True,
        lower=None,
    ),
    "noise_ceiling": Quantity(
        key="noise_ceiling",
        title="Noise ceiling",
        units="% of variance",
        description=(
            "Percentage of response variance that the repeated test "
            "presentations allow a model to explain."
        ),
        cmap="viridis",
    ),
    "jne": Quantity(
        key="jne",
        title="JNE",
        units=f"JNE ({_JNE_UNITS})",
        description=(
            "Jacobian-based nonlinearity estimate: standard deviation over "
            "stimuli of the L1 distance between each stimulus's Jacobian "
            "and the mean Jacobian (Gao et al., NeurIPS 2025). Units: "
            f"{_JNE_UNITS_LONG}."
        ),
        cmap="YlOrRd",
    ),
    "jne_normalised": Quantity(
        key="jne_normalised",
        title="Gain-normalised JNE",
        units="JNE / mean |J|₁ (unitless)",
        description=(
            "JNE divided by the mean over stimuli of the L1 norm of the "
            "voxel's Jacobian, which removes the response gain."
        ),
        cmap="YlOrRd",
    ),
    "jne_ss": Quantity(
        key="jne_ss",
        title="JNE-SS by category",
        units=f"JNE-SS ({_JNE_UNITS}²)",
        description=(
            "Per-stimulus JNE contribution (d_i - mean d)² averaged over "
            "the stimuli of each category. Units: square of "
            f"{_JNE_UNITS_LONG}."
        ),
        cmap="YlOrRd",
    ),
    "significant": Quantity(
        key="significant",
        title="Significant voxels",
        units="1 = significant, 0 = not",
        description="Voxels whose test R² passed the significance test.",
        cmap="Greens",
    ),
}


def get_quantity(quantity):
    """Return the :class:`Quantity` for a key, or ``quantity`` itself.

    Raises
    ------
    ConfigError
        If the key is not in :data:`QUANTITIES`.
    """
    if isinstance(quantity, Quantity):
        return quantity
    try:
        return QUANTITIES[quantity]
    except KeyError:
        raise ConfigError(
            f"Unknown map quantity {quantity!r}. Known quantities: "
            f"{', '.join(sorted(QUANTITIES))}."
        ) from None


def figure_title(main, label, extra=None, width=110):
    """Return a figure title: ``main`` and a line naming the data.

    The data line carries the data label, ``extra`` (e.g. the
    thresholding) and, for simulated data, :data:`SIMULATED_NOTE`. It is
    wrapped at ``width`` characters so that narrow figures do not clip it.
    """
    parts = [label.text()]
    if extra:
        parts.append(extra)
    if label.simulated:
        parts.append(SIMULATED_NOTE.upper())
    # Break between parts where possible, so that the simulated note
    # always stays on one line.
    lines = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += f" | {part}"
        else:
            lines.extend(textwrap.wrap(part, width=width))
    return "\n".join([main] + lines)
