# ruff: noqa: RUF012  (the shape tortoise migrations take)
from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("itk", "0001_initial")]

    operations = [
        ops.AddField(
            model_name="CredentialRecord",
            name="extra_origins",
            field=fields.JSONField(default=list),
        ),
    ]
