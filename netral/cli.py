"""The `netral` command: dev tokens, synthetic data, schemas and the local stack."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from netral import devstack
from netral.devissuer import mint_token
from netral.engines import EngineError
from services.kit.settings import LOCAL_DIR

app = typer.Typer(help="Netralitas ASN: alat pengembang", no_args_is_help=True)
schemas_app = typer.Typer(help="Skema JSON event (bahasa terbitan)", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")

DEMO_DIR = LOCAL_DIR / "demo"


@app.command()
def token(
    role: Annotated[
        str,
        typer.Option(
            help="employee, opd_admin, kepala_opd, bkpsdm, ppk, inspektorat, bawaslu, bkn, agency, "
            "gubernur, kemendagri"
        ),
    ],
    org_unit: Annotated[
        str | None, typer.Option("--org-unit", help="batas unit organisasi token ini")
    ] = None,
    nip: Annotated[str | None, typer.Option(help="NIP pemilik token")] = None,
    employee_id: Annotated[
        str | None,
        typer.Option("--employee-id", help="id pegawai (peran employee); bawaan: NIP"),
    ] = None,
    hours: Annotated[float, typer.Option(help="masa berlaku (jam)")] = 12,
) -> None:
    """Cetak JWT dari penerbit dev lokal (HANYA untuk pengembangan)."""
    from contracts.roles import Role

    try:
        Role(role)
    except ValueError:
        raise typer.BadParameter(f"peran tidak dikenal: {role}", param_hint="--role") from None
    typer.echo(mint_token(role, org_unit=org_unit, nip=nip, employee_id=employee_id, hours=hours))


@app.command()
def seed(
    employees: Annotated[int, typer.Option(help="jumlah pegawai")] = 1000,
    out: Annotated[Path, typer.Option(help="folder tujuan CSV")] = Path("seed-data"),
    random_seed: Annotated[
        int, typer.Option("--seed", help="benih acak (hasil sama untuk benih sama)")
    ] = 2024,
    load: Annotated[
        str | None, typer.Option(help="URL registry untuk langsung dimuat, mis. http://127.0.0.1:8001")
    ] = None,
) -> None:
    """Buat pemda sintetis (unit organisasi + pegawai) sebagai CSV siap impor."""
    from netral.seed import generate, write_csv
    from netral.seed import load as load_seed

    units, people = generate(employees, seed=random_seed)
    unit_file, employee_file = write_csv(out, units, people)
    typer.echo(f"{len(units)} unit organisasi -> {unit_file}")
    typer.echo(f"{len(people)} pegawai -> {employee_file}")
    if load:
        counts = asyncio.run(load_seed(out, load.rstrip("/"), mint_token("bkpsdm"), typer.echo))
        typer.echo(json.dumps(counts, ensure_ascii=False))


@schemas_app.command("export")
def schemas_export(out: Annotated[Path, typer.Option(help="folder tujuan")] = Path("schemas")) -> None:
    """Tulis JSON Schema setiap tipe event ke OUT/<tipe>.json."""
    from contracts.catalog import json_schemas

    out.mkdir(parents=True, exist_ok=True)
    for type_name, schema in json_schemas().items():
        (out / f"{type_name}.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        typer.echo(out / f"{type_name}.json")


@app.command()
def verify(
    receipt: Annotated[Path, typer.Argument(help="tanda terima (JSON) dari layanan penandatanganan")],
    public_key: Annotated[Path, typer.Option("--public-key", help="kunci publik PEM dari GET /v1/keys")],
) -> None:
    """Periksa tanda terima pakta secara luring: tanda tangan Ed25519 dan tautan rantai."""
    from services.signing.domain import verify_receipt

    try:
        data = json.loads(receipt.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        typer.echo(f"tidak dapat membaca {receipt}: {exc}", err=True)
        raise typer.Exit(2) from None
    check = verify_receipt(data.get("receipt", data), public_key.read_bytes())
    if check.valid:
        typer.echo(f"SAH: tanda terima {data.get('code', '')} valid (tahap {check.stage})")
        return
    typer.echo("TIDAK SAH:", err=True)
    for problem in check.problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(1)


@app.command()
def up(demo_employees: Annotated[int, typer.Option(help="jumlah pegawai demo")] = 300) -> None:
    """Jalankan mesin lokal dan semua layanan, isi pemda demo, cetak URL dan token."""
    from netral.seed import generate, write_csv
    from netral.seed import load as load_seed

    began = time.monotonic()
    typer.echo("Menjalankan mesin lokal dan empat layanan (bersamaan)...")
    try:
        endpoints = devstack.up(typer.echo)
    except (devstack.NotReady, EngineError, RuntimeError) as exc:
        typer.echo(f"GAGAL: {exc}", err=True)
        raise typer.Exit(1) from None
    units, people = generate(demo_employees, seed=2024)
    write_csv(DEMO_DIR, units, people)
    registry = endpoints["registry"]
    counts = asyncio.run(load_seed(DEMO_DIR, registry, mint_token("bkpsdm"), typer.echo))
    campaign = asyncio.run(_demo_campaign(endpoints["signing"], units[0].code))
    sekda = next(person for person in people if person.leader_office == "SEKDA")
    demo_token = mint_token("bkpsdm", hours=24)
    typer.echo("")
    typer.echo("Netralitas ASN berjalan di mesin ini:")
    typer.echo(f"  MongoDB   {endpoints['MONGODB_URI']}")
    typer.echo(f"  Kafka     {endpoints['KAFKA_BOOTSTRAP_SERVERS']}")
    if "SMTP_HOST" in endpoints:
        mail = _shown(devstack.MAIL_DIR / "new")
        typer.echo(
            f"  SMTP      {endpoints['SMTP_HOST']}:{endpoints['SMTP_PORT']}  (penampung lokal; "
            f"surel yang dikirim notify ada di {mail})"
        )
    else:
        port = os.environ.get("SMTP_PORT", str(devstack.DEFAULT_SMTP_PORT))
        typer.echo(f"  SMTP      {os.environ.get('SMTP_HOST')}:{port}  (server luar dari SMTP_HOST)")
    for service in devstack.SERVICES:
        base = endpoints[service.name]
        typer.echo(f"  {service.name:<9} {base}  (docs {base}/docs, metrics {base}/metrics)")
    typer.echo(f"Pemda demo: {len(units)} unit, {len(people)} pegawai ({json.dumps(counts)})")
    typer.echo("")
    typer.echo("Token demo (peran bkpsdm, 24 jam, HANYA untuk pengembangan):")
    typer.echo(demo_token)
    typer.echo("")
    typer.echo(f"Kampanye demo: {campaign} (kaskade strict); token Sekda {sekda.nip} (peran employee):")
    typer.echo(mint_token("employee", nip=sekda.nip, hours=24))
    typer.echo("")
    typer.echo("Coba:")
    typer.echo(f'  curl -H "Authorization: Bearer $TOKEN" {registry}/v1/org-units/{units[0].code}')
    typer.echo(
        f'  curl -H "Authorization: Bearer $TOKEN" "{endpoints["signing"]}/v1/campaigns/{campaign}'
        f'/progress?org_unit={units[0].code}"'
    )
    typer.echo(
        f'  curl -X POST -H "Authorization: Bearer $SEKDA_TOKEN" -H "content-type: application/json" '
        f'-d \'{{"mode":"online","consent":true}}\' {endpoints["signing"]}/v1/campaigns/{campaign}/signatures'
    )
    reports = endpoints["reports"]
    typer.echo(f"  curl {reports}/v1/categories")
    typer.echo(
        f'  curl -X POST -H "content-type: application/json" -d \'{{"category":"kampanye_media_sosial",'
        f'"description":"Terlapor mengunggah ajakan memilih calon di media sosial.","incident_date":"'
        f'{dt.date.today().isoformat()}","location":"Kantor dinas","accused":{{"name":"{sekda.name}",'
        f'"nip":"{sekda.nip}"}},"reporter":null}}\' {reports}/v1/reports'
    )
    typer.echo(
        f'  curl -X POST -H "content-type: application/json" -d \'{{"code":"KODE-PELACAKAN"}}\''
        f" {reports}/v1/reports/track"
    )
    typer.echo("Token lain: .venv/bin/netral token --role opd_admin --org-unit KODE_OPD")
    typer.echo(f"Siap dalam {time.monotonic() - began:.1f} s. Hentikan dengan: make down")


def _shown(path: Path) -> Path:
    """PATH relative to the working directory when it lies below it (shorter to read)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


async def _demo_campaign(signing: str, scope: str) -> str:
    """Open the demo campaign once the signing service has seen the demo pemda."""
    import httpx

    code = "demo-pemilu"
    body = {
        "code": code,
        "title": "Pakta Integritas Netralitas ASN (demo)",
        "election": "Pemilu demo",
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat(),
        "campaign_period_starts_on": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
        "pact_text": (
            "Saya, Aparatur Sipil Negara, berjanji: menjaga netralitas sebelum, selama, dan sesudah "
            "pemilihan; menghindari konflik kepentingan, intimidasi, dan keberpihakan; bijak "
            "bermedia sosial tanpa ujaran kebencian dan hoaks; menolak politik uang dan segala "
            "bentuk pemberian."
        ),
        "scope": [scope],
        "cascade": "strict",
    }
    headers = {"Authorization": f"Bearer {mint_token('bkpsdm')}"}
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(120):
            response = await client.post(f"{signing}/v1/campaigns", json=body, headers=headers)
            if response.status_code in (201, 409):
                return code
            await asyncio.sleep(0.5)  # the projection is still catching up with the registry
    raise typer.BadParameter(f"kampanye demo tidak dapat dibuat: {response.status_code} {response.text}")


@app.command("k8s-check")
def k8s_check() -> None:
    """Periksa deploy/k8s secara luring: render, skema, promtool, dan kecocokan dengan kode."""
    from netral.k8scheck import main as check

    raise typer.Exit(check())


@app.command()
def down() -> None:
    """Hentikan layanan dan mesin lokal yang dijalankan `netral up`."""
    stopped = devstack.down()
    typer.echo("dihentikan: " + (", ".join(stopped) if stopped else "tidak ada yang berjalan"))


if __name__ == "__main__":
    app()
