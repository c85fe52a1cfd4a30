"""Public identifiers: short, random and not sequential, so nobody can count objects by guessing."""

import secrets

_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def public_id(prefix: str, length: int = 12) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def public_ids_fill(app_label: str, model_name: str, prefix: str, length: int = 14):
    """A RunPython step that gives every existing row of a model its own random public id (for data migrations)."""

    def fill(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        taken: set[str] = set()
        for pk in model.objects.filter(public_id__isnull=True).values_list("pk", flat=True).iterator():
            code = public_id(prefix, length)
            while code in taken:
                code = public_id(prefix, length)
            taken.add(code)
            model.objects.filter(pk=pk).update(public_id=code)

    return fill
