"""The seed tutorial's tools and client, decorator style, as written in the tutorial."""

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition


def run_experiment(**data):
    """Run an 'experiment' on our remote execution environment."""
    import pathlib
    import random
    experiment = pathlib.Path(data['experiment'])
    # Say hello a bunch of times
    experiment.write_text('Hello Gladier!' * random.randint(1, 100))
    return str(experiment)


@generate_flow_definition
class RunExperiment(GladierBaseTool):
    funcx_functions = [run_experiment]


def gather_metadata(**data):
    import pathlib
    import hashlib
    from datetime import datetime
    experiment = pathlib.Path(data['experiment'])
    search_document = {
        'search_index': data['search_index'],
        'content': {
            'dc': {
                'creators': [{'creatorName': 'ALCF Researcher'}],
                'dates': [{'date': datetime.now().isoformat(),
                           'dateType': 'Created'}],
                'formats': ['text/plain'],
                'publicationYear': '2021',
                'publisher': 'ALCF Researcher',
                'resourceType': {'resourceType': 'Dataset',
                                 'resourceTypeGeneral': 'Dataset'},
                'subjects': [{'subject': 'Globus'}, {'subject': 'Flows'}, {'subject': 'ALCF'}],
                'titles': [{'title': f'My Experiment {experiment.name}'}],
                'version': 1,
            },
            'files': [{
                'filename': experiment.name,
                'length': experiment.stat().st_size,
                'mime_type': 'text/plain',
                'md5': hashlib.md5(experiment.read_bytes()).hexdigest(),
                'sha256': hashlib.sha256(experiment.read_bytes()).hexdigest(),
            }],
        },
        'subject': data['subject'],
        'visible_to': ['public'],
    }
    # Clean up our 'experiment' file.
    experiment.unlink()
    return search_document


@generate_flow_definition
class GatherMetadata(GladierBaseTool):
    funcx_functions = [gather_metadata]


class PublishMetadata(GladierBaseTool):
    flow_definition = {
        'Comment': 'Publish metadata to Globus Search, with data from the result.',
        'StartAt': 'PublishMetadata',
        'States': {
            'PublishMetadata': {
                'Comment': 'Ingest a Globus Search document',
                'Type': 'Action',
                'ActionUrl': 'https://actions.globus.org/search/ingest',
                'ExceptionOnActionFailure': True,
                'InputPath': '$.GatherMetadata.details.result[0]',
                'ResultPath': '$.PublishMetadata',
                'WaitTime': 300,
                'End': True
            }
        },
    }
    funcx_functions = []


@generate_flow_definition
class MyGladierClient(GladierBaseClient):
    gladier_tools = [
        RunExperiment,
        GatherMetadata,
        PublishMetadata,
    ]
