%%gladier_tool RunExperiment
def run_experiment(**data):
    """Run an 'experiment' on our remote execution environment."""
    import pathlib
    import random
    experiment = pathlib.Path(data['experiment'])
    # Say hello a bunch of times
    experiment.write_text('Hello Gladier!' * random.randint(1, 100))
    return str(experiment)
