"""qamtu.chain: the one layer that runs things, from a scenario to results.

Below ``qamtu.cli`` and above ``plan``, ``rollout``, ``audit`` and ``report``: every command resolves one
:class:`~qamtu.chain.scenario.Scenario` (the single table of defaults, :mod:`qamtu.chain.scenario`) and hands it
to a function here, which goes study area -> links -> plan -> schedule -> results and gives ``report`` only
results to render.

Modules
-------
:mod:`qamtu.chain.scenario`
    The typed, validated scenario (YAML/TOML), its defaults, presets and the resolved ``scenario.yaml``.
:mod:`qamtu.chain.city`
    One city's inputs (study area, candidates, targets, engine configuration, demand) and its plan: the only
    place that builds them, used by ``qamtu plan`` and ``qamtu national`` alike.
:mod:`qamtu.chain.coverage`
    ``qamtu coverage``: one city's maps and KPIs for a site table.
:mod:`qamtu.chain.reference`
    ``qamtu reference-run``: every city with the hexagonal reference layout.
:mod:`qamtu.chain.national`
    ``qamtu national`` / ``schedule``: every city planned, one national schedule, the resource search and the
    content of the report.
:mod:`qamtu.chain.sensitivity`
    The headline under one step of each assumption (schedules and gates re-run).

``import qamtu.chain`` imports nothing heavy: import the module you need.
"""
