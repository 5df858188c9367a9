"""The backups pages: plans, a plan (runs, snapshots, drills, storage growth), the plan form, restore."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view
from keepwell.core.models import Finding, Service
from keepwell.core.models.findings import State
from keepwell.core.views.listing import paginate, search

from . import charts, health, jobs, validation
from .forms import PlanForm, RestoreForm
from .models import Plan, Run, StorageSample

RECENT_RUNS = 50
STORAGE_SAMPLES = 500
SNAPSHOTS_SHOWN = 20  # backup runs whose snapshots the plan page lists
JOB_KINDS = {Run.Kind.BACKUP, Run.Kind.DRILL, Run.Kind.CHECK, Run.Kind.FORGET}


def _param(request, name):
    return request.GET.get(name, "").replace("\x00", "").strip()[:200]


def _plan(request, pk) -> Plan:
    return get_object_or_404(
        Plan.objects.select_related("service", "repository", "organization"), organization=request.org, pk=pk
    )


@org_view("view")
def plan_list(request, org_slug):
    """List the organization's backup plans with the age of their last good backup and verified restore."""
    everything = Plan.objects.filter(organization=request.org)
    chosen = _param(request, "service")
    plans = everything.select_related("service", "repository")
    if chosen:
        plans = plans.filter(service__slug=chosen)
    plans, q = search(plans, request, "name", "service__name")
    page = paginate(request, plans.order_by("service__name", "name", "id"))
    open_keys = {k for _, k in health.open_keys()}
    rows = []
    for plan in page.object_list:
        problems = [p for p in health.PROBLEMS if health.key(plan, p) in open_keys]
        rows.append({"plan": plan, "problems": problems})
    return render(
        request,
        "backups/plan_list.html",
        {
            "page_obj": page,
            "rows": rows,
            "q": q,
            "chosen": chosen,
            "any_plans": everything.exists(),
            "services": Service.objects.filter(organization=request.org)
            .order_by("name")
            .only("slug", "name"),
            "now": timezone.now(),
        },
    )


def describe_source(source) -> str:
    """Return a source in a few words, without any password."""
    if not isinstance(source, dict):
        return "?"
    kind = source.get("kind")
    if kind == "path":
        return "files " + ", ".join(str(p) for p in source.get("paths") or [])
    if kind == "sqlite":
        return f"SQLite {source.get('path')}"
    if kind in ("postgres", "mysql"):
        return f"{'PostgreSQL' if kind == 'postgres' else 'MySQL'} {validation.redact_url(str(source.get('url')))}"
    return str(kind)


def snapshot_rows(plan, limit=SNAPSHOTS_SHOWN) -> list[dict]:
    """Return the snapshots of the plan's latest good backups, marking those its retention has forgotten."""
    forgets = plan.runs.filter(kind=Run.Kind.FORGET, state=Run.State.SUCCEEDED).values_list(
        "details", flat=True
    )
    removed = {i for details in forgets if isinstance(details, dict) for i in details.get("removed") or []}
    backups = plan.runs.filter(kind=Run.Kind.BACKUP, state=Run.State.SUCCEEDED).exclude(snapshots=[])
    rows = []
    for run in backups.order_by("-finished", "-id")[:limit]:
        sources = run.sources if isinstance(run.sources, list) else []
        for snap in run.snapshots:
            if not isinstance(snap, dict):
                continue
            index = snap.get("source")
            source = sources[index] if isinstance(index, int) and 0 <= index < len(sources) else None
            rows.append(
                {
                    "run": run,
                    "id": snap.get("short_id") or str(snap.get("id", ""))[:8],
                    "source": describe_source(source),
                    "forgotten": snap.get("id") in removed,
                }
            )
    return rows


@org_view("view")
def plan_detail(request, org_slug, pk):
    """Show a plan: its state, findings, runs, drills with their evidence and the repository's growth."""
    plan = _plan(request, pk)
    runs = plan.runs.select_related("requested_by").order_by("-created", "-id")
    samples = StorageSample.objects.filter(repository=plan.repository).order_by("-at", "-id")
    rows = list(samples.values_list("at", "total_size")[:STORAGE_SAMPLES])
    findings = Finding.objects.filter(
        service=plan.service, source=health.SOURCE, key__startswith=f"plan:{plan.pk}:"
    ).exclude(state=State.RESOLVED)
    latest = jobs.latest_good_backup(plan)
    return render(
        request,
        "backups/plan_detail.html",
        {
            "plan": plan,
            "runs": runs[:RECENT_RUNS],
            "drills": runs.filter(kind=Run.Kind.DRILL).exclude(state=Run.State.QUEUED)[:5],
            "latest": latest,
            "chart": charts.growth_chart(rows),
            "size": charts.human_bytes(rows[0][1]) if rows else None,
            "findings": findings,
            "sources": plan.sources,
            "snapshots": snapshot_rows(plan),
            "now": timezone.now(),
        },
    )


@org_view("view")
def run_detail(request, org_slug, pk):
    """Show one run: its output, a backup's manifest, a drill's evidence."""
    run = get_object_or_404(
        Run.objects.select_related("plan__service", "plan__repository", "source_run"),
        plan__organization=request.org,
        pk=pk,
    )
    return render(request, "backups/run_detail.html", {"run": run, "plan": run.plan})


@org_view("manage_services")
def plan_new(request, org_slug):
    """Add a backup plan; the service may be chosen in advance with ?service=<slug>."""
    if not Service.objects.filter(organization=request.org).exists():
        return render(request, "backups/no_services.html")
    initial = {"schedule": "0 3 * * *", "tz": "UTC", "enabled": True}
    service = Service.objects.filter(organization=request.org, slug=_param(request, "service")).first()
    if service:
        initial["service"] = service
    form = PlanForm(request.POST or None, org=request.org, initial=initial)
    if request.method == "POST" and form.is_valid():
        plan = form.instance
        with transaction.atomic():
            plan.save()
        messages.success(
            request, f"Added the plan {plan.name}. Its first backup runs at its next scheduled time."
        )
        return redirect("backup-plan", org_slug, plan.pk)
    return render(request, "backups/plan_form.html", {"form": form, "plan": None})


@org_view("manage_services")
def plan_edit(request, org_slug, pk):
    """Change a plan's sources, repository, schedules, retention and verification."""
    plan = _plan(request, pk)
    form = PlanForm(request.POST or None, org=request.org, plan=plan)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.instance.save()
            jobs.reschedule(form.instance)
        messages.success(request, f"Saved {plan.name}.")
        return redirect("backup-plan", org_slug, plan.pk)
    return render(request, "backups/plan_form.html", {"form": form, "plan": _plan(request, pk)})


@org_view("manage_services")
def plan_delete(request, org_slug, pk):
    """Ask, then delete a plan and its run history (its snapshots stay in the repository)."""
    plan = _plan(request, pk)
    if request.method == "POST":
        name = plan.name
        with transaction.atomic():
            health.forget_plan(plan)
            plan.delete()
        messages.success(request, f"Deleted the plan {name}. Its snapshots are still in the repository.")
        return redirect("backups", org_slug)
    return render(request, "backups/plan_delete.html", {"plan": plan})


@org_view("act")
@require_POST
def plan_start(request, org_slug, pk):
    """Queue a backup, drill, check or forget of the plan now."""
    plan = _plan(request, pk)
    kind = request.POST.get("kind", "")
    if kind not in JOB_KINDS:
        messages.error(request, "Choose what to run: backup, drill, check or forget.")
        return redirect("backup-plan", org_slug, plan.pk)
    if kind == Run.Kind.DRILL and jobs.latest_good_backup(plan) is None:
        messages.error(request, "There is no successful backup to drill yet: back up first.")
        return redirect("backup-plan", org_slug, plan.pk)
    run = jobs.create_run(plan, kind, trigger=Run.Trigger.WEB, user=request.user)
    jobs.enqueue(run)
    messages.success(request, f"Queued: {run.get_kind_display().lower()} of {plan.name} (run #{run.pk}).")
    return redirect("backup-plan", org_slug, plan.pk)


@org_view("manage_services")
def plan_restore(request, org_slug, pk):
    """Restore a backup of the plan to a folder or into a database."""
    plan = _plan(request, pk)
    runs = list(
        plan.runs.filter(kind=Run.Kind.BACKUP, state=Run.State.SUCCEEDED)
        .exclude(snapshots=[])
        .order_by("-finished")[:50]
    )
    if not runs:
        messages.error(request, "There is no successful backup of this plan to restore yet.")
        return redirect("backup-plan", org_slug, plan.pk)
    form = RestoreForm(request.POST or None, runs=runs, initial={"run": runs[0].pk})
    if request.method == "POST" and form.is_valid():
        source = next(r for r in runs if r.pk == form.cleaned_data["run"])
        run = jobs.create_run(
            plan, Run.Kind.RESTORE, trigger=Run.Trigger.WEB, user=request.user,
            target=form.cleaned_data["target"], source_run=source,
        )  # fmt: skip
        jobs.enqueue(run)
        messages.success(request, f"Queued the restore (run #{run.pk}); this page shows how it went.")
        return redirect("backup-run", org_slug, run.pk)
    return render(request, "backups/restore_form.html", {"form": form, "plan": plan})
