"""Every call between services that the deployed system relies on, found in the templates themselves,
with every policy AWS evaluates for it.

Each kind of edge is discovered from the resources that create it (an alarm's actions, a rule's
targets, an event source mapping, an API method's integration, an alias's CodeDeploy update policy, a
function's own settings and the queue URLs in its environment, a log group's key, a pipeline's actions
and build projects), so a new alarm
action, target, mapping, integration or hook is checked without anyone listing it. A target of a kind
no rule here knows is reported as a problem, never skipped.

A ``Call`` is one request (caller, action, resource, request context) and the policies AWS evaluates
for it; a ``Problem`` is a wiring fault that no policy could fix (a log group that does not exist, a
queue whose visibility timeout is shorter than its consumer's timeout, an alarm the hook does not know).
"""

from collections.abc import Iterator

from compliance.deployability.calls import Call, Findings, Problem
from compliance.deployability.pipeline_edges import PipelineEdges
from compliance.deployability.service_edges import ServiceEdges
from compliance.deployability.world import World

__all__ = ["Call", "Checker", "Findings", "Problem", "check", "iter_denied"]


class Checker(ServiceEdges, PipelineEdges):
    """Discovers the edges of one world and builds the calls and problems for each."""

    def run(self) -> Findings:
        for discover in (
            self._alarm_actions,
            self._event_rule_targets,
            self._bucket_edges,
            self._event_source_mappings,
            self._api_integrations,
            self._api_access_logs,
            self._codedeploy,
            self._functions,
            self._function_queues,
            self._encrypted_log_groups,
            self._waf_logging,
            self._pipelines,
            self._build_projects,
            self._notification_rules,
        ):
            discover()
        return self.findings


def check(world: World) -> tuple[Findings, set[str]]:
    """Every call and problem of the world, and the wiring-only edges found sound."""
    checker = Checker(world)
    return checker.run(), checker.wiring


def iter_denied(findings: Findings) -> Iterator[str]:
    for call, decision in findings.denied():
        yield f"{call.describe()}\n    " + "\n    ".join(decision.reasons)
