%%gladier_tool GatherMetadata
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
