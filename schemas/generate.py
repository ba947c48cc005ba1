#!/usr/bin/env python3
"""Generates the published contract of ado-ingest: schemas/envelope.schema.json,
schemas/<type>.schema.json (one per normalized type, each describing the WHOLE CloudEvents message:
envelope attributes + `data`) and schemas/asyncapi.yaml.

Each schema is self-contained (no cross-file $ref) so any consumer's validator can use it alone.
The list of types comes from schemas/catalog.json, which the Rust test suite writes from the one
event catalog (crates/ado-events); this file fails when its per-type definitions and the catalog
disagree. Run `python3 schemas/generate.py` after changing a normalizer's `data`;
`python3 schemas/generate.py --check` exits 1 when a committed file differs from what it generates
(the test suite runs it), and `cargo test contract` checks every fixture's normalized message
against these files.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_versions():
    """Schema version per normalized type, from schemas/catalog.json (the envelope and the
    passthrough type stay at 1)."""
    with open(os.path.join(HERE, "catalog.json"), encoding="utf-8") as f:
        return {k["normalizedType"]: k.get("schemaVersion", 1) for k in json.load(f)}


SCHEMA_VERSIONS = schema_versions()


def schema_id(name):
    # Equals the `dataschema` attribute ado-ingest puts on every message (cloudevent.rs).
    return f"urn:ado-ingest:schema:{name}:{SCHEMA_VERSIONS.get(name, 1)}"


# ---------------------------------------------------------------- building blocks
def nullable(s):
    return {"anyOf": [s, {"type": "null"}]}


STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
NINT = {"type": ["integer", "null"]}
POS = {"type": "integer", "minimum": 1}
BOOL = {"type": "boolean"}
TS = {"type": "string", "format": "date-time", "description": "RFC 3339 UTC, canonical (shortest exact fraction)"}
NTS = {"anyOf": [TS, {"type": "null"}]}
ANY = {"description": "Any JSON value, as sent by Azure DevOps."}

DEFS = {
    "person": {
        "type": "object",
        "description": "A person. `email` is the unique name when it is an e-mail address; `id` is absent "
        "(null) where Azure DevOps sends identities as strings (work-item 1.0 fields).",
        "required": ["id", "name", "email", "uniqueName"],
        "additionalProperties": False,
        "properties": {"id": NSTR, "name": NSTR, "email": NSTR, "uniqueName": NSTR},
    },
    "gitUser": {
        "type": "object",
        "required": ["name", "email", "date"],
        "additionalProperties": False,
        "properties": {"name": NSTR, "email": NSTR, "date": NTS},
    },
    "projectRef": {
        "type": "object",
        "required": ["id", "name"],
        "additionalProperties": False,
        "properties": {"id": NSTR, "name": NSTR},
    },
    "pipelineRef": {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "required": ["id", "name", "folder", "revision"],
                "additionalProperties": False,
                "properties": {"id": NINT, "name": NSTR, "folder": NSTR, "revision": NINT},
            },
        ]
    },
}
PERSON = {"$ref": "#/$defs/person"}
NPERSON = {"anyOf": [PERSON, {"type": "null"}]}
PROJECT = {"$ref": "#/$defs/projectRef"}
PIPELINE = {"$ref": "#/$defs/pipelineRef"}


def obj(props, description=None):
    s = {"type": "object", "required": list(props), "additionalProperties": False, "properties": props}
    if description:
        s["description"] = description
    return s


def arr(items):
    return {"type": "array", "items": items}


REPO = obj({"id": {"type": "string", "minLength": 1}, "name": NSTR})

# ---------------------------------------------------------------- data per normalized type
PR_DATA = {
    "pullRequestId": POS,
    "title": NSTR,
    "status": {**NSTR, "description": "active | abandoned | completed (current value; hooks carry no old value)"},
    "mergeStatus": {**NSTR, "description": "notSet | queued | conflicts | succeeded | rejectedByPolicy | failure"},
    "isDraft": BOOL,
    "sourceRefName": NSTR,
    "targetRefName": NSTR,
    "repository": REPO,
    "project": PROJECT,
    "createdBy": NPERSON,
    "creationDate": NTS,
    "closedBy": NPERSON,
    "closedDate": NTS,
    "lastMergeSourceCommit": NSTR,
    "lastMergeTargetCommit": NSTR,
    "lastMergeCommit": NSTR,
    "reviewers": arr(
        {
            "type": "object",
            "required": ["id", "name", "email", "uniqueName", "vote", "isRequired", "hasDeclined", "isFlagged"],
            "additionalProperties": False,
            "properties": {
                **DEFS["person"]["properties"],
                "vote": {**INT, "description": "10 approved, 5 approved with suggestions, 0 none, -5 waiting, -10 rejected"},
                "isRequired": BOOL,
                "hasDeclined": BOOL,
                "isFlagged": BOOL,
            },
        }
    ),
    "url": NSTR,
}

PR_UPDATED_DATA = {
    **{k: v for k, v in PR_DATA.items() if k not in ("mergeStatus", "lastMergeTargetCommit")},
    "lastMergeCommit": {**NSTR, "description": "the merge commit that landed, once status is completed; else null"},
}

WI_SNAPSHOT = {
    "workItemId": POS,
    "rev": POS,
    "workItemType": NSTR,
    "title": NSTR,
    "state": NSTR,
    "reason": NSTR,
    "areaPath": NSTR,
    "iterationPath": NSTR,
    "teamProject": NSTR,
    "tags": NSTR,
    "assignedTo": NPERSON,
    "createdBy": NPERSON,
    "createdDate": NTS,
    "changedBy": NPERSON,
    "changedDate": NTS,
}
RELATION = obj(
    {
        "rel": NSTR,
        "workItemId": {**NINT, "description": "the linked work item, for a link to one (then url is null)"},
        "url": {**NSTR, "description": "the target of any other relation (attachment, hyperlink, artifact)"},
    }
)
STEP_COMMON = {"state": NSTR, "result": NSTR, "startTime": NTS, "finishTime": NTS}

TYPES = {
    "git.push": (
        "A push to a Git repository. Identity: collection, repository id, pushId.",
        {
            "pushId": POS,
            "repository": REPO,
            "project": PROJECT,
            "pushedBy": NPERSON,
            "date": NTS,
            "refUpdates": arr(
                obj(
                    {
                        "name": NSTR,
                        "oldObjectId": {**STR, "description": "40 zeros when the ref was created"},
                        "newObjectId": {**STR, "description": "40 zeros when the ref was deleted"},
                        "change": {"enum": ["create", "update", "delete"]},
                    }
                )
            ),
            "commitCount": {"type": "integer", "minimum": 0},
            "commits": arr(
                obj(
                    {
                        "commitId": STR,
                        "author": nullable({"$ref": "#/$defs/gitUser"}),
                        "committer": nullable({"$ref": "#/$defs/gitUser"}),
                        "comment": NSTR,
                    }
                )
            ),
            "url": NSTR,
        },
        True,
    ),
    "git.pullrequest.created": ("A pull request was created. Identity: collection, pullRequestId.", PR_DATA, False),
    "git.pullrequest.updated": (
        "A pull request changed (status, votes, reviewers, source push, draft, completion). Identity "
        "(schema version 2): collection, pullRequestId and a fingerprint of status, last merge source commit, "
        "sorted reviewers+votes, isDraft, closedDate — what both the hook and the REST history (system threads, "
        "iterations) show. No mergeStatus or lastMergeTargetCommit: they belong to a merge attempt "
        "(git.pullrequest.merge_attempted); lastMergeCommit is the merge commit of a completed PR, else null.",
        PR_UPDATED_DATA,
        False,
    ),
    "git.pullrequest.merge_attempted": (
        "A merge of a pull request was attempted (result in mergeStatus). Identity: collection, pullRequestId, "
        "mergeStatus, last merge source commit.",
        PR_DATA,
        False,
    ),
    "git.pullrequest.commented": (
        "A pull request comment was added or edited. Identity: collection, pullRequestId, thread id, comment id, "
        "lastUpdatedDate.",
        {
            "pullRequestId": POS,
            "threadId": POS,
            "commentId": POS,
            "parentCommentId": NINT,
            "author": NPERSON,
            "content": NSTR,
            "commentType": NSTR,
            "publishedDate": NTS,
            "lastUpdatedDate": NTS,
            "lastContentUpdatedDate": NTS,
            "repository": REPO,
            "project": PROJECT,
            "url": NSTR,
        },
        False,
    ),
    "build.completed": (
        "A build (classic or YAML run) finished. Identity: collection, build id.",
        {
            "buildId": POS,
            "buildNumber": NSTR,
            "status": NSTR,
            "result": {**NSTR, "description": "succeeded | partiallySucceeded | failed | canceled"},
            "reason": NSTR,
            "definition": obj({"id": NINT, "name": NSTR, "path": NSTR}),
            "project": PROJECT,
            "sourceBranch": NSTR,
            "sourceVersion": NSTR,
            "repository": nullable(obj({"id": NSTR, "type": NSTR, "name": NSTR})),
            "requestedFor": NPERSON,
            "requestedBy": NPERSON,
            "queueTime": NTS,
            "startTime": NTS,
            "finishTime": NTS,
            "url": NSTR,
            "webUrl": NSTR,
        },
        False,
    ),
    "pipeline.run.state_changed": (
        "A pipeline run changed state. Identity: collection, run id, state, result.",
        {
            "runId": POS,
            "runName": NSTR,
            "state": {**NSTR, "description": "inProgress | canceling | completed"},
            "result": {**NSTR, "description": "succeeded | failed | canceled; null while running"},
            "createdDate": NTS,
            "finishedDate": NTS,
            "pipeline": PIPELINE,
            "url": NSTR,
        },
        False,
    ),
    "pipeline.stage.state_changed": (
        "A stage of a pipeline run changed state. Identity: collection, run id, stage (id, or name for the "
        "implicit zero-GUID stage), state, result.",
        {
            "runId": POS,
            "runName": NSTR,
            "stageKey": STR,
            "stageDisplayName": NSTR,
            "stageId": NSTR,
            "stageName": NSTR,
            **STEP_COMMON,
            "pipeline": PIPELINE,
        },
        False,
    ),
    "pipeline.job.state_changed": (
        "A job of a pipeline run changed state. Identity: collection, run id, job (id, or stage/name for the "
        "implicit zero-GUID job), state, result.",
        {
            "runId": POS,
            "runName": NSTR,
            "jobKey": STR,
            "stageKey": NSTR,
            "stageName": NSTR,
            "jobId": NSTR,
            "jobName": NSTR,
            **STEP_COMMON,
            "pipeline": PIPELINE,
        },
        False,
    ),
}

APPROVAL = {
    "approvalId": {"type": "string", "minLength": 1},
    "status": STR,
    "createdOn": NTS,
    "lastModifiedOn": NTS,
    "instructions": NSTR,
    "minRequiredApprovers": NINT,
    "steps": arr(
        obj(
            {
                "assignedApprover": NPERSON,
                "actualApprover": NPERSON,
                "status": NSTR,
                "comment": NSTR,
                "initiatedOn": NTS,
            }
        )
    ),
    "pipeline": PIPELINE,
    "runId": NINT,
    "stageName": NSTR,
}
TYPES["pipeline.approval.pending"] = ("A run stage waits for approval. Identity: collection, approval id, status.", APPROVAL, False)
TYPES["pipeline.approval.completed"] = ("A run stage approval completed. Identity: collection, approval id, status.", APPROVAL, False)

DEPLOYMENT = {
    "deploymentId": NINT,
    "attempt": NINT,
    "status": {**NSTR, "description": "release environment status"},
    "deploymentStatus": NSTR,
    "operationStatus": NSTR,
    "environment": obj({"id": POS, "name": NSTR, "definitionEnvironmentId": NINT}),
    "release": obj({"id": NINT, "name": NSTR}),
    "releaseDefinition": nullable(obj({"id": NINT, "name": NSTR})),
    "project": PROJECT,
    "requestedBy": NPERSON,
    "requestedFor": NPERSON,
    "queuedOn": NTS,
    "lastModifiedOn": NTS,
}
TYPES["release.deployment.started"] = (
    "A classic release deployment started. Identity: collection, deployment id (or release environment id + attempt).",
    DEPLOYMENT,
    False,
)
TYPES["release.deployment.completed"] = (
    "A classic release deployment completed. Identity: collection, deployment id (or release environment id + attempt).",
    DEPLOYMENT,
    False,
)
TYPES["tfvc.checkin"] = (
    "A TFVC changeset was checked in. Identity: collection, changesetId (collection-wide; a changeset may span "
    "several projects, see teamProjectIds).",
    {
        "changesetId": POS,
        "author": NPERSON,
        "checkedInBy": NPERSON,
        "createdDate": NTS,
        "comment": NSTR,
        "teamProjectIds": arr(STR),
        "url": NSTR,
    },
    True,
)

CHANGES = {
    "type": "object",
    "description": "Old and new values of the tracked fields that changed (System.State, System.Reason, "
    "System.AssignedTo, System.IterationPath, Microsoft.VSTS.Scheduling.*, …). Identity fields are people, "
    "dates canonical timestamps.",
    "additionalProperties": obj({"oldValue": ANY, "newValue": ANY}),
}
TYPES["workitem.created"] = ("A work item was created. Identity: collection, work item id, rev.", WI_SNAPSHOT, True)
TYPES["workitem.updated"] = (
    "A work item was updated. Identity: collection, work item id, rev; link-only updates (no new rev) add the "
    "relation changes they made.",
    {
        **WI_SNAPSHOT,
        "linkOnly": BOOL,
        "changes": CHANGES,
        "relations": obj({"added": arr(RELATION), "removed": arr(RELATION), "updated": arr(RELATION)}),
    },
    True,
)
TYPES["workitem.deleted"] = ("A work item was deleted (to the recycle bin). Identity: collection, work item id, rev.", WI_SNAPSHOT, True)
TYPES["workitem.restored"] = ("A work item was restored. Identity: collection, work item id, rev.", WI_SNAPSHOT, True)
TYPES["workitem.commented"] = (
    "A comment was added to a work item. Identity: collection, work item id, rev.",
    {**WI_SNAPSHOT, "comment": NSTR, "commentCount": NINT},
    True,
)
TYPES["ado.passthrough"] = (
    "Any other well-formed service-hook event (or one whose resource is too thin to normalize). Identity: "
    "collection, Azure DevOps event type and event id. The resource is under data.raw.",
    {
        "eventType": {"type": "string", "minLength": 1},
        "publisherId": {"type": "string", "minLength": 1},
        "resourceVersion": NSTR,
        "adoEventId": {"type": "string", "minLength": 1},
    },
    False,
)

# ---------------------------------------------------------------- envelope
ENVELOPE_PROPS = {
    "specversion": {"const": "1.0"},
    "id": {"type": "string", "format": "uuid", "description": "Deterministic SHA-256-derived id of the change; AMQP message_id."},
    "source": {"type": "string", "minLength": 1, "description": "URI-reference: collection base URL + project id (urn:ado:collection:… when no URL is known)."},
    "type": {"type": "string", "enum": list(TYPES)},
    "subject": {"type": "string", "minLength": 1, "description": "The entity, e.g. workitems/42, builds/123."},
    "time": {**TS, "description": "When the change happened (from the resource)."},
    "datacontenttype": {"const": "application/json"},
    "dataschema": {"type": "string", "pattern": "^urn:ado-ingest:schema:[a-z0-9_.]+:[0-9]+$"},
    "adocollection": {"type": "string", "minLength": 1, "description": "resourceContainers.collection.id (tenant key)."},
    "adoproject": {"type": "string", "minLength": 1, "description": "Team project id, when known."},
    "adoorigin": {"enum": ["hook", "backfill", "replay"]},
    "partitionkey": {"type": "string", "minLength": 1},
    "sequence": {"type": "string", "pattern": "^-?[0-9]+$", "description": "rev / pushId / changesetId"},
    "data": {"type": "object"},
}
ENVELOPE_REQUIRED = [
    "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema",
    "adocollection", "adoorigin", "partitionkey", "data",
]


def envelope_schema():
    return {
        "$schema": DRAFT,
        "$id": schema_id("envelope"),
        "title": "ado-ingest CloudEvents message",
        "description": "CloudEvents 1.0 structured-JSON message as published to the `ado.events` exchange "
        "(content-type application/cloudevents+json). `data` is described per type in <type>.schema.json.",
        "type": "object",
        "required": ENVELOPE_REQUIRED,
        "additionalProperties": False,
        "properties": ENVELOPE_PROPS,
    }


def type_schema(name, description, data_props, has_sequence):
    props = dict(ENVELOPE_PROPS)
    props["type"] = {"const": name}
    props["dataschema"] = {"const": schema_id(name)}
    data = obj(dict(data_props))
    data["properties"]["raw"] = {
        "description": "The original Azure DevOps resource (omitted when publish.include_raw = false). Not validated.",
    }
    data["required"] = [k for k in data_props]
    props["data"] = data
    required = list(ENVELOPE_REQUIRED) + (["sequence"] if has_sequence else [])
    return {
        "$schema": DRAFT,
        "$id": schema_id(name),
        "title": name,
        "description": description,
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": props,
        "$defs": DEFS,
    }


# ---------------------------------------------------------------- AsyncAPI
def message_name(t):
    return t.replace(".", "_")


def asyncapi():
    lines = [
        "# Generated by schemas/generate.py — do not edit by hand.",
        "asyncapi: 3.0.0",
        "info:",
        "  title: ado-ingest events",
        "  version: 1.0.0",
        "  description: >-",
        "    Azure DevOps activity (pushes, pull requests, builds and pipeline runs, TFVC check-ins,",
        "    work-item changes) normalized into CloudEvents 1.0 structured-JSON messages with",
        "    deterministic ids, published to one durable RabbitMQ topic exchange, from service hooks or",
        "    REST backfill. Never lost; an id (message_id = CloudEvents id) is published a second time",
        "    only for sends unconfirmed when the publisher crashed or lost its connection (at most one",
        "    confirm window, 512). Consumer recipe: a quorum queue of your own with a dead-letter",
        "    exchange and x-delivery-limit, manual acks after your write is durable, a prefetch of a",
        "    few hundred, and deduplication by message_id over a bounded window (a day is plenty).",
        "defaultContentType: application/cloudevents+json",
        "servers:",
        "  rabbitmq:",
        "    host: 'localhost:5672'",
        "    protocol: amqp",
        "    protocolVersion: 0.9.1",
        "    description: Any AMQP 0-9-1 broker (a quorum-queue RabbitMQ cluster in production).",
        "channels:",
        "  adoEvents:",
        "    address: '{org}.{project}.{type}'",
        "    title: ado.events",
        "    description: >-",
        "      The topic exchange `ado.events`. Routing key `{org}.{project}.{type}`, org and project as",
        "      slugs (lowercase, [a-z0-9_-], anything else '-'; '_' when there is no project). Bind e.g.",
        "      `*.*.workitem.#`, `contoso.#`, `#.git.push`. Unroutable messages go to the alternate exchange",
        "      `ado.events.unrouted` (bound to the durable quorum queue of the same name).",
        "    parameters:",
        "      org:",
        "        description: Organization (collection) slug.",
        "      project:",
        "        description: Team project name slug, `_` when the event has none.",
        "      type:",
        "        description: Normalized event type.",
        "        enum:",
    ]
    lines += [f"          - {t}" for t in TYPES]
    lines += [
        "    bindings:",
        "      amqp:",
        "        is: routingKey",
        "        exchange:",
        "          name: ado.events",
        "          type: topic",
        "          durable: true",
        "          autoDelete: false",
        "          vhost: /",
        "        bindingVersion: 0.3.0",
        "    messages:",
    ]
    lines += [f"      {message_name(t)}:\n        $ref: '#/components/messages/{message_name(t)}'" for t in TYPES]
    lines += [
        "operations:",
        "  publishEvent:",
        "    action: send",
        "    channel:",
        "      $ref: '#/channels/adoEvents'",
        "    summary: Publish one normalized event (publisher confirms, mandatory, persistent).",
        "    bindings:",
        "      amqp:",
        "        deliveryMode: 2",
        "        mandatory: true",
        "        timestamp: true",
        "        bindingVersion: 0.3.0",
        "    messages:",
    ]
    lines += [f"      - $ref: '#/channels/adoEvents/messages/{message_name(t)}'" for t in TYPES]
    lines += [
        "components:",
        "  schemas:",
        "    envelope:",
        "      $ref: './envelope.schema.json'",
        "  messageTraits:",
        "    cloudEvent:",
        "      contentType: application/cloudevents+json",
        "      headers:",
        "        type: object",
        "        description: AMQP properties set on every message.",
        "        properties:",
        "          message_id:",
        "            type: string",
        "            description: The CloudEvents id (deterministic; consumers dedupe on it).",
        "          type:",
        "            type: string",
        "            description: The normalized event type.",
        "          content_type:",
        "            const: application/cloudevents+json",
        "          delivery_mode:",
        "            const: 2",
        "          timestamp:",
        "            type: integer",
        "            description: When the change happened (the CloudEvents time), seconds since the epoch.",
        "          webhook-signature:",
        "            type: string",
        "            description: >-",
        "              Only with publish.signing_keys: Standard Webhooks signatures, space-separated",
        "              `v1,<base64 HMAC-SHA256(key, \"{webhook-id}.{webhook-timestamp}.{body}\")>`, one per key",
        "              (headers webhook-id and webhook-timestamp carry the signed id and time).",
        "      correlationId:",
        "        location: '$message.payload#/id'",
        "      bindings:",
        "        amqp:",
        "          contentEncoding: utf-8",
        "          messageType: cloudevent",
        "          bindingVersion: 0.3.0",
        "  messages:",
    ]
    for t, (desc, _, _) in TYPES.items():
        lines += [
            f"    {message_name(t)}:",
            f"      name: {t}",
            f"      title: {t}",
            f"      summary: {json.dumps(desc)}",
            "      contentType: application/cloudevents+json",
            "      traits:",
            "        - $ref: '#/components/messageTraits/cloudEvent'",
            "      payload:",
            "        schemaFormat: application/schema+json;version=draft-2020-12",
            "        schema:",
            f"          $ref: './{t}.schema.json'",
        ]
    return "\n".join(lines) + "\n"


def catalog_types():
    """The normalized types of schemas/catalog.json in catalog order, then the passthrough type."""
    with open(os.path.join(HERE, "catalog.json"), encoding="utf-8") as f:
        catalog = json.load(f)
    types = []
    for kind in catalog:
        if kind["normalizedType"] not in types:
            types.append(kind["normalizedType"])
    return types + ["ado.passthrough"]


def ordered_types():
    """TYPES in catalog order; fails when the definitions here and the catalog name other types."""
    wanted = catalog_types()
    missing = [t for t in wanted if t not in TYPES]
    extra = [t for t in TYPES if t not in wanted]
    if missing or extra:
        sys.exit(f"generate.py and schemas/catalog.json disagree: no definition for {missing}, not in the catalog: {extra}")
    return {t: TYPES[t] for t in wanted}


def outputs():
    files = {"envelope.schema.json": json.dumps(envelope_schema(), indent=2, ensure_ascii=False) + "\n"}
    for name, (desc, data, seq) in TYPES.items():
        files[f"{name}.schema.json"] = json.dumps(type_schema(name, desc, data, seq), indent=2, ensure_ascii=False) + "\n"
    files["asyncapi.yaml"] = asyncapi()
    return files


def main():
    global TYPES
    TYPES = ordered_types()
    check = "--check" in sys.argv[1:]
    stale = []
    for name, content in outputs().items():
        path = os.path.join(HERE, name)
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != content:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
    if stale:
        sys.exit(f"stale generated files (run python3 schemas/generate.py): {stale}")


if __name__ == "__main__":
    main()
