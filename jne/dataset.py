"""The in-memory form of one subject's data, shared by every stage.

A :class:`Dataset` holds single-trial responses, the trial and stimulus
tables, stimulus embeddings per feature layer, where each response column
lies in the brain (:class:`Space`) and an ROI atlas (:class:`Atlas`). Every
source (demo, local files, NSD) builds one, and the later stages read
nothing else. ``Dataset.save`` and ``Dataset.load`` store it as one HDF5
file; the layout is documented in ``docs/outputs.md``.

Surface vertices and volume voxels are both called voxels here.
"""

from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

from jne._atomic import atomic_path
from jne.errors import DataError

FORMAT_VERSION = 1


@dataclass
class Space:
    """Where each response column lies: surface vertices or volume voxels.

    Attributes
    ----------
    kind : {"surface", "volume"}
    mesh : str or None
        Surface template for ``kind="surface"``, one of ``"fsLR32k"``,
        ``"fsaverage"``, ``"fsaverage5"`` or ``"fsaverage6"``.
    hemisphere : array of str of shape (n_voxels,) or None
        ``"L"`` or ``"R"`` per vertex, for surfaces.
    vertex : array of int of shape (n_voxels,) or None
        Index of each vertex in its hemisphere's mesh, for surfaces.
    n_mesh_vertices : dict or None
        Number of vertices of each hemisphere's mesh, e.g.
        ``{"L": 32492, "R": 32492}``, for surfaces.
    shape : tuple of 3 int or None
        Grid shape of the brain mask, for volumes.
    affine : array of shape (4, 4) or None
        Voxel-to-world affine of the grid, for volumes.
    ijk : array of int of shape (n_voxels, 3) or None
        Grid index of each voxel, for volumes.
    """

    kind: str
    mesh: str | None = None
    hemisphere: np.ndarray | None = None
    vertex: np.ndarray | None = None
    n_mesh_vertices: dict | None = None
    shape: tuple | None = None
    affine: np.ndarray | None = None
    ijk: np.ndarray | None = None

    @property
    def n_voxels(self):
        """Number of response columns described."""
        if self.kind == "surface":
            return len(self.vertex)
        return len(self.ijk)

    def subset(self, index):
        """Return the space of the voxels selected by ``index``."""
        if self.kind == "surface":
            return Space(
                kind="surface",
                mesh=self.mesh,
                hemisphere=self.hemisphere[index],
                vertex=self.vertex[index],
                n_mesh_vertices=dict(self.n_mesh_vertices),
            )
        return Space(
            kind="volume",
            shape=tuple(self.shape),
            affine=np.array(self.affine),
            ijk=self.ijk[index],
        )

    def validate(self):
        """Raise DataError if the fields disagree with ``kind``."""
        if self.kind == "surface":
            if self.vertex is None or self.hemisphere is None:
                raise DataError(
                    "A surface space needs 'vertex' and 'hemisphere' arrays."
                )
            if len(self.vertex) != len(self.hemisphere):
                raise DataError(
                    f"Surface space has {len(self.vertex)} vertex indices "
                    f"but {len(self.hemisphere)} hemisphere labels."
                )
            bad = set(np.unique(self.hemisphere)) - {"L", "R"}
            if bad:
                raise DataError(
                    f"Invalid hemisphere labels {sorted(bad)}: use 'L' or "
                    "'R'."
                )
        elif self.kind == "volume":
            if self.ijk is None or self.shape is None or self.affine is None:
                raise DataError(
                    "A volume space needs 'ijk', 'shape' and 'affine'."
                )
            if np.asarray(self.affine).shape != (4, 4):
                raise DataError(
                    f"Volume affine has shape {np.shape(self.affine)}, "
                    "expected (4, 4)."
                )
        else:
            raise DataError(
                f"Invalid space kind {self.kind!r}: use 'surface' or "
                "'volume'."
            )


@dataclass
class Atlas:
    """One ROI label per voxel.

    Attributes
    ----------
    labels : array of int of shape (n_voxels,)
        ROI index of each voxel; 0 means outside every ROI.
    names : dict of int to str
        ROI name of each index other than 0.
    """

    labels: np.ndarray
    names: dict

    def subset(self, index):
        """Return the atlas of the voxels selected by ``index``."""
        return Atlas(labels=self.labels[index], names=dict(self.names))

    def roi_mask(self, name):
        """Return a boolean array of shape (n_voxels,) for ROI ``name``."""
        indices = [i for i, n in self.names.items() if n == name]
        if not indices:
            raise DataError(
                f"ROI {name!r} is not in the atlas. Known ROIs: "
                f"{', '.join(sorted(set(self.names.values())))}."
            )
        return np.isin(self.labels, indices)

    def voxel_names(self):
        """Return an array of shape (n_voxels,) of ROI names ("" for 0)."""
        lookup = {0: ""}
        lookup.update(self.names)
        return np.array([lookup.get(int(i), "") for i in self.labels])


@dataclass
class Dataset:
    """One subject's trial responses, stimuli, embeddings, space and atlas.

    Attributes
    ----------
    betas : array of float32 of shape (n_trials, n_voxels)
        Single-trial response estimates, in the order of ``trials``.
    trials : DataFrame
        One row per trial: ``stimulus_id`` (str), and optionally
        ``session`` and ``run`` (int), used for z-scoring.
    stimuli : DataFrame
        One row per stimulus: ``stimulus_id`` (str, unique), optional
        ``category`` (str), ``split`` ("train", "val" or "test") and any
        descriptive columns (e.g. ``text``).
    embeddings : dict of str to array of shape (n_stimuli, n_features)
        Stimulus features per layer name, rows in ``stimuli`` order.
    space : Space
    atlas : Atlas
    name : str
        Dataset name, used in output paths.
    subject : str
    simulated : bool
        True when the responses are simulated (the demo). Reports say so.
    description : str
        One or two sentences on where the data came from.
    ground_truth : dict of str to array, optional
        Known truth for simulated data, e.g. ``"jne"`` of shape (n_voxels,)
        and ``"jne_ss_category"`` of shape (n_categories, n_voxels), with
        ``"categories"`` naming the rows.
    extra : dict of str to array, optional
        Source-specific per-voxel arrays of shape (n_voxels,), such as NSD's
        ``"ncsnr"``.
    """

    betas: np.ndarray
    trials: pd.DataFrame
    stimuli: pd.DataFrame
    embeddings: dict
    space: Space
    atlas: Atlas
    name: str
    subject: str
    simulated: bool = False
    description: str = ""
    ground_truth: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def n_trials(self):
        return self.betas.shape[0]

    @property
    def n_voxels(self):
        return self.betas.shape[1]

    @property
    def n_stimuli(self):
        return len(self.stimuli)

    @property
    def layers(self):
        """Layer names of the embeddings, in stored order."""
        return list(self.embeddings)

    def trial_stimulus_index(self):
        """Return the row of ``stimuli`` shown on each trial.

        Returns
        -------
        array of int of shape (n_trials,)
        """
        lookup = pd.Series(
            np.arange(self.n_stimuli), index=self.stimuli["stimulus_id"]
        )
        missing = ~self.trials["stimulus_id"].isin(lookup.index)
        if missing.any():
            first = self.trials["stimulus_id"][missing].iloc[0]
            raise DataError(
                f"{int(missing.sum())} trials show stimuli absent from the "
                f"stimulus table, e.g. stimulus_id={first!r}. Add them to "
                "the stimulus table or drop those trials."
            )
        return lookup.loc[self.trials["stimulus_id"]].to_numpy()

    def subset_voxels(self, index):
        """Return a copy restricted to the voxels selected by ``index``."""
        truth = {}
        for key, value in self.ground_truth.items():
            value = np.asarray(value)
            # Per-voxel truth is numeric with voxels last; names such as
            # "categories" are strings and stay whole even when their
            # length happens to equal the voxel count.
            per_voxel = value.dtype.kind in "fiub" and value.ndim >= 1
            if per_voxel and value.shape[-1] == self.n_voxels:
                truth[key] = value[..., index]
            else:
                truth[key] = value
        return Dataset(
            betas=self.betas[:, index],
            trials=self.trials.copy(),
            stimuli=self.stimuli.copy(),
            embeddings=dict(self.embeddings),
            space=self.space.subset(index),
            atlas=self.atlas.subset(index),
            name=self.name,
            subject=self.subject,
            simulated=self.simulated,
            description=self.description,
            ground_truth=truth,
            extra={k: np.asarray(v)[index] for k, v in self.extra.items()},
        )

    def validate(self):
        """Check that shapes, ids and values agree.

        Raises
        ------
        DataError
            With the offending value and the fix in the message.
        """
        if self.betas.ndim != 2:
            raise DataError(
                f"betas must have shape (n_trials, n_voxels), got "
                f"{self.betas.shape}."
            )
        if not np.issubdtype(self.betas.dtype, np.floating):
            raise DataError(
                f"betas must be floating point, got dtype {self.betas.dtype}."
            )
        if len(self.trials) != self.n_trials:
            raise DataError(
                f"The trial table has {len(self.trials)} rows but betas have "
                f"{self.n_trials} trials. The table needs one row per trial "
                "in response order."
            )
        if "stimulus_id" not in self.trials:
            raise DataError("The trial table has no 'stimulus_id' column.")
        if "stimulus_id" not in self.stimuli:
            raise DataError("The stimulus table has no 'stimulus_id' column.")
        duplicated = self.stimuli["stimulus_id"].duplicated()
        if duplicated.any():
            raise DataError(
                f"stimulus_id {self.stimuli['stimulus_id'][duplicated].iloc[0]!r}"
                " appears more than once in the stimulus table. Ids must be "
                "unique."
            )
        self.trial_stimulus_index()
        if "split" in self.stimuli:
            bad = set(self.stimuli["split"].dropna()) - {
                "train",
                "val",
                "test",
            }
            if bad:
                raise DataError(
                    f"Invalid split values {sorted(bad)} in the stimulus "
                    "table: use 'train', 'val' or 'test'."
                )
        if not self.embeddings:
            raise DataError("The dataset has no stimulus embeddings.")
        for layer, features in self.embeddings.items():
            features = np.asarray(features)
            if features.ndim != 2 or features.shape[0] != self.n_stimuli:
                raise DataError(
                    f"Embeddings of layer {layer!r} have shape "
                    f"{features.shape}, expected ({self.n_stimuli}, "
                    "n_features) in stimulus table order."
                )
            if not np.all(np.isfinite(features)):
                bad_rows = np.flatnonzero(~np.isfinite(features).all(axis=1))
                raise DataError(
                    f"Embeddings of layer {layer!r} contain NaN or Inf for "
                    f"{len(bad_rows)} stimuli, e.g. stimulus_id="
                    f"{self.stimuli['stimulus_id'].iloc[bad_rows[0]]!r}. "
                    "Recompute the features or drop those stimuli."
                )
        self.space.validate()
        if self.space.n_voxels != self.n_voxels:
            raise DataError(
                f"The space describes {self.space.n_voxels} voxels but betas "
                f"have {self.n_voxels}."
            )
        if len(self.atlas.labels) != self.n_voxels:
            raise DataError(
                f"The atlas labels {len(self.atlas.labels)} voxels but betas "
                f"have {self.n_voxels}."
            )

    def save(self, path):
        """Write the dataset to one HDF5 file, atomically."""
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["name"] = self.name
            f.attrs["subject"] = self.subject
            f.attrs["simulated"] = bool(self.simulated)
            f.attrs["description"] = self.description
            f.create_dataset(
                "betas",
                data=self.betas,
                chunks=(min(self.n_trials, 256), min(self.n_voxels, 4096)),
            )
            _write_table(f.create_group("trials"), self.trials)
            _write_table(f.create_group("stimuli"), self.stimuli)
            group = f.create_group("embeddings")
            group.attrs["order"] = list(self.embeddings)
            for layer, features in self.embeddings.items():
                group.create_dataset(layer, data=np.asarray(features))
            _write_space(f.create_group("space"), self.space)
            atlas = f.create_group("atlas")
            atlas.create_dataset("labels", data=self.atlas.labels)
            atlas.create_dataset(
                "index", data=np.array(list(self.atlas.names), dtype=int)
            )
            atlas.create_dataset(
                "name",
                data=np.array(list(self.atlas.names.values()), dtype="S"),
            )
            for group_name, arrays in (
                ("ground_truth", self.ground_truth),
                ("extra", self.extra),
            ):
                group = f.create_group(group_name)
                for key, value in arrays.items():
                    value = np.asarray(value)
                    if value.dtype.kind == "U":
                        value = value.astype("S")
                    group.create_dataset(key, data=value)

    @classmethod
    def load(cls, path, betas=True):
        """Read a dataset written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
        betas : bool, default=True
            With False, skip the response matrix (the largest part of the
            file) and return ``betas`` of shape (0, n_voxels), for steps
            that need only the tables, space and atlas.
        """
        with h5py.File(path, "r") as f:
            version = int(f.attrs.get("format_version", 0))
            if version != FORMAT_VERSION:
                raise DataError(
                    f"{path} was written with dataset format {version}, this "
                    f"jne reads format {FORMAT_VERSION}. Delete it and rerun "
                    "the fetch step."
                )
            order = [str(x) for x in f["embeddings"].attrs["order"]]
            truth = {
                key: _decode(f["ground_truth"][key][()])
                for key in f["ground_truth"]
            }
            extra = {key: f["extra"][key][()] for key in f["extra"]}
            names = dict(
                zip(
                    f["atlas/index"][()].tolist(),
                    [n.decode() for n in f["atlas/name"][()]],
                )
            )
            if betas:
                responses = f["betas"][()]
            else:
                responses = np.empty(
                    (0, f["betas"].shape[1]), dtype=f["betas"].dtype
                )
            return cls(
                betas=responses,
                trials=_read_table(f["trials"]),
                stimuli=_read_table(f["stimuli"]),
                embeddings={k: f["embeddings"][k][()] for k in order},
                space=_read_space(f["space"]),
                atlas=Atlas(labels=f["atlas/labels"][()], names=names),
                name=str(f.attrs["name"]),
                subject=str(f.attrs["subject"]),
                simulated=bool(f.attrs["simulated"]),
                description=str(f.attrs["description"]),
                ground_truth=truth,
                extra=extra,
            )


def _decode(value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return value.astype(str)
    return value


def _write_table(group, table):
    group.attrs["columns"] = list(table.columns)
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values) and not (
            pd.api.types.is_bool_dtype(values)
        ):
            group.create_dataset(column, data=values.to_numpy())
        else:
            # UTF-8 strings; a missing value is stored as "" and read back
            # as missing, so a partly filled "split" column round-trips.
            text = values.astype(object).where(values.notna(), "")
            group.create_dataset(
                column,
                data=text.astype(str).tolist(),
                dtype=h5py.string_dtype(),
            )


def _read_table(group):
    columns = [str(c) for c in group.attrs["columns"]]
    table = {}
    for column in columns:
        data = group[column]
        if data.dtype.kind in "SO":
            text = pd.Series(data.asstr()[()], dtype=str)
            table[column] = text.mask(text == "")
        else:
            table[column] = data[()]
    return pd.DataFrame(table)


def _write_space(group, space):
    group.attrs["kind"] = space.kind
    if space.kind == "surface":
        group.attrs["mesh"] = space.mesh or ""
        group.create_dataset("hemisphere", data=space.hemisphere.astype("S1"))
        group.create_dataset("vertex", data=space.vertex)
        group.attrs["n_mesh_vertices_L"] = space.n_mesh_vertices.get("L", 0)
        group.attrs["n_mesh_vertices_R"] = space.n_mesh_vertices.get("R", 0)
    else:
        group.attrs["shape"] = list(space.shape)
        group.create_dataset("affine", data=np.asarray(space.affine))
        group.create_dataset("ijk", data=space.ijk)


def _read_space(group):
    kind = str(group.attrs["kind"])
    if kind == "surface":
        return Space(
            kind=kind,
            mesh=str(group.attrs["mesh"]),
            hemisphere=group["hemisphere"][()].astype(str),
            vertex=group["vertex"][()],
            n_mesh_vertices={
                "L": int(group.attrs["n_mesh_vertices_L"]),
                "R": int(group.attrs["n_mesh_vertices_R"]),
            },
        )
    return Space(
        kind=kind,
        shape=tuple(int(s) for s in group.attrs["shape"]),
        affine=group["affine"][()],
        ijk=group["ijk"][()],
    )
