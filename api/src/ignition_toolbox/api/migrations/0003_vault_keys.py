# ruff: noqa: RUF012  (the shape tortoise makemigrations writes)
from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("itk", "0002_credential_extra_origins")]

    operations = [
        ops.CreateModel(
            name="VaultKeyRecord",
            fields=[
                (
                    "version",
                    fields.IntField(generated=False, primary_key=True, unique=True, db_index=True),
                ),
                ("fingerprint", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "vault_keys",
                "app": "itk",
                "pk_attr": "version",
                "table_description": "A check value per key version, never key material.",
            },
            bases=["Model"],
        ),
    ]
