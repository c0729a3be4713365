"""Where the roles CDK Pipelines generates live in the pipeline stack: the path of each role's default
policy, by the selector the acknowledgment registry names it with (``role:synth``...). The registry
matches these patterns under ``GENERATED_ROLES_UNDER``, the CodePipeline construct."""

GENERATED_ROLES_UNDER = "Pipeline"
_POLICY = "/DefaultPolicy/Resource"
ROLE_POLICY_PATHS: dict[str, str] = {
    "pipeline": r"Pipeline/Pipeline/Role" + _POLICY,
    "source-action": r"Pipeline/Pipeline/Source/[^/]+/CodePipelineActionRole" + _POLICY,
    "approval-action": r"Pipeline/Pipeline/prod-approval/[^/]+/CodePipelineActionRole" + _POLICY,
    "synth": r"Pipeline/Pipeline/Build/Synth/CdkBuildProject/Role" + _POLICY,
    "self-mutation": r"Pipeline/UpdatePipeline/SelfMutation/Role" + _POLICY,
    "assets": r"Pipeline/Assets/FileRole" + _POLICY,
    "smoke-tests": r"Pipeline/Pipeline/[^/]+/(?:[^/]+\.)?(SmokeTests-[a-z0-9-]+)/\1/Role" + _POLICY,
    "protect-stacks": r"Pipeline/Pipeline/[^/]+/(?:[^/]+\.)?(ProtectStacks-[a-z0-9-]+)/\1/Role" + _POLICY,
}
