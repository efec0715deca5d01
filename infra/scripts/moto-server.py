"""moto's server, without the one leak that matters to Greenlight's tests.

moto keeps every model object it ever made in a list per class, for its dashboard.
Its DynamoDB copies a whole table for every TransactWriteItems (to roll back) and an
item for every UpdateItem, so the DynamoDB store's tests leave gigabytes behind: a
shared emulator ran out of memory after a few runs. DynamoDB's objects are not kept
here (the dashboard does not show them); every other service's still are, so
/moto-api/data.json still shows the emails and text messages the tests look at.
"""

import sys

import moto.dynamodb.models  # noqa: F401  (registers DynamoDB's models)
import moto.dynamodbstreams.models  # noqa: F401
from moto.core.model_instances import model_data
from moto.server import main


class Untracked(list):
    def append(self, _instance):
        pass


for service in ("dynamodb", "dynamodbstreams"):
    for model in model_data[service].values():
        model.instances_tracked = Untracked()

main(sys.argv[1:])
