"""Simulations that validate JNE against nonlinearity known by design.

Modules, one per experiment:

- :mod:`~jne.simulation.single_unit`: one activation over sliding input
  windows against ``|phi''| delta / sqrt(12)``, and 0 on linear pieces.
- :mod:`~jne.simulation.network`: untrained residual networks with
  activations at a shallow and a deep position.
- :mod:`~jne.simulation.sample_size`: recovery of a ``|sin t|``
  modulation as a function of the number of stimuli.
- :mod:`~jne.simulation.invariance`: output gain, input scale and input
  distribution.
- :mod:`~jne.simulation.blind_spot`: symmetric two-point Jacobian
  distributions, which give JNE = 0.

:func:`jne.simulation.run.run_validation` runs them all and writes
``summary.tsv``, figures and tables. Every JNE value comes from
``jne.simulation._engine``, the single place that calls the JNE engine.
"""
