//! The expected message for every hook sample: routing key, subject and concrete normalized values
//! (ids, people, timestamps, refs/shas, state transitions), read off the samples themselves.

use serde_json::Value;

pub struct Expect {
    pub sample: &'static str,
    pub routing_key: &'static str,
    pub subject: &'static str,
    /// JSON pointer under `data` → expected JSON value.
    pub data: &'static [(&'static str, &'static str)],
}

impl Expect {
    const fn new(
        sample: &'static str,
        routing_key: &'static str,
        subject: &'static str,
        data: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            sample,
            routing_key,
            subject,
            data,
        }
    }

    pub fn check(&self, name: &str, routing_key: &str, body: &Value) {
        assert_eq!(routing_key, self.routing_key, "{name}: routing key");
        assert_eq!(body["subject"], self.subject, "{name}: subject");
        for (pointer, expected) in self.data {
            let expected: Value = serde_json::from_str(expected).unwrap();
            let actual = body["data"]
                .pointer(pointer)
                .cloned()
                .unwrap_or(Value::Null);
            assert_eq!(actual, expected, "{name}: data{pointer}");
        }
    }
}

pub fn expected_for(sample: &str) -> Option<&'static Expect> {
    TABLE.iter().find(|e| e.sample == sample)
}

static TABLE: &[Expect] = &[
    Expect::new(
        "build.complete.3.json",
        "fabrikam-fiber-inc._.build.completed",
        "builds/2",
        &[
            ("/buildId", r#"2"#),
            ("/buildNumber", r#""ConsumerAddressModule_20150407.1""#),
            ("/status", r#""completed""#),
            ("/result", r#""succeeded""#),
            ("/finishTime", r#""2015-04-07T18:06:10.69Z""#),
            ("/requestedFor/name", r#""Normal Paulk""#),
            (
                "/sourceVersion",
                r#""600c52d2d5b655caa111abfd863e5a9bd304bb0e""#,
            ),
            ("/definition/name", r#""ConsumerAddressModule""#),
        ],
    ),
    Expect::new(
        "build.complete.json",
        "fabrikamfiber.fabrikamfiberchat.build.completed",
        "builds/2727068",
        &[
            ("/buildId", r#"2727068"#),
            ("/buildNumber", r#""20221202.1""#),
            ("/status", r#""completed""#),
            ("/result", r#""succeeded""#),
            ("/finishTime", r#""2022-12-02T12:21:08.520904Z""#),
            ("/requestedFor/name", r#""Jack Fabrikam""#),
            (
                "/sourceVersion",
                r#""6e12f6141917f66a2964af55952ee33914d2d91f""#,
            ),
            ("/definition/name", r#""MainRepo (1)""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.created.2.json",
        "fabrikam.fabrikam.git.pullrequest.created",
        "pullrequests/1",
        &[
            ("/pullRequestId", r#"1"#),
            ("/status", r#""active""#),
            ("/mergeStatus", r#""succeeded""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""53d54ac915144006c2c9e90d2c7d3880920db49c""#,
            ),
            ("/createdBy/name", r#""Jamal Hartnett""#),
            ("/creationDate", r#""2014-06-17T16:55:46.589889Z""#),
            ("/closedDate", r#"null"#),
            ("/reviewers/0/name", r#""[Mobile]\\Mobile Team""#),
            ("/reviewers/0/vote", r#"0"#),
            ("/sourceRefName", r#""refs/heads/mytopic""#),
            ("/targetRefName", r#""refs/heads/master""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.created.3.json",
        "fabrikam.fabrikam.git.pullrequest.created",
        "pullrequests/1",
        &[
            ("/pullRequestId", r#"1"#),
            ("/status", r#""active""#),
            ("/mergeStatus", r#""succeeded""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""53d54ac915144006c2c9e90d2c7d3880920db49c""#,
            ),
            ("/createdBy/name", r#""Jamal Hartnett""#),
            ("/creationDate", r#""2014-06-17T16:55:46.589889Z""#),
            ("/closedDate", r#"null"#),
            ("/reviewers/0/name", r#""[Mobile]\\Mobile Team""#),
            ("/reviewers/0/vote", r#"0"#),
            ("/sourceRefName", r#""refs/heads/mytopic""#),
            ("/targetRefName", r#""refs/heads/master""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.merged.2.json",
        "dependabot.core.git.pullrequest.merge_attempted",
        "pullrequests/22568",
        &[
            ("/pullRequestId", r#"22568"#),
            ("/status", r#""completed""#),
            ("/mergeStatus", r#""succeeded""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""6258a2efa589c277ed97e3246b6a59faf0e29859""#,
            ),
            ("/createdBy/name", r#""dependabot""#),
            ("/creationDate", r#""2023-01-18T02:05:34.3260021Z""#),
            ("/closedDate", r#""2023-01-18T04:03:21.203845Z""#),
            ("/reviewers/0/name", r#""Maxwell Weru""#),
            ("/reviewers/0/vote", r#"10"#),
            (
                "/sourceRefName",
                r#""refs/heads/dependabot/nuget/Tingle.EventBus.Transports.InMemory-0.18.0""#,
            ),
            ("/targetRefName", r#""refs/heads/main""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.merged.3.json",
        "fabrikam.fabrikam.git.pullrequest.merge_attempted",
        "pullrequests/1",
        &[
            ("/pullRequestId", r#"1"#),
            ("/status", r#""completed""#),
            ("/mergeStatus", r#""succeeded""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""53d54ac915144006c2c9e90d2c7d3880920db49c""#,
            ),
            ("/createdBy/name", r#""Jamal Hartnett""#),
            ("/creationDate", r#""2014-06-17T16:55:46.589889Z""#),
            ("/closedDate", r#""2014-06-30T18:59:12.3660573Z""#),
            ("/reviewers/0/name", r#""[Mobile]\\Mobile Team""#),
            ("/reviewers/0/vote", r#"0"#),
            ("/sourceRefName", r#""refs/heads/mytopic""#),
            ("/targetRefName", r#""refs/heads/master""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.merged.4.json",
        "fabrikam.fabrikam.git.pullrequest.merge_attempted",
        "pullrequests/1",
        &[
            ("/pullRequestId", r#"1"#),
            ("/status", r#""completed""#),
            ("/mergeStatus", r#""succeeded""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""53d54ac915144006c2c9e90d2c7d3880920db49c""#,
            ),
            ("/createdBy/name", r#""Jamal Hartnett""#),
            ("/creationDate", r#""2014-06-17T16:55:46.589889Z""#),
            ("/closedDate", r#""2014-06-30T18:59:12.3660573Z""#),
            ("/reviewers/0/name", r#""[Mobile]\\Mobile Team""#),
            ("/reviewers/0/vote", r#"0"#),
            ("/sourceRefName", r#""refs/heads/mytopic""#),
            ("/targetRefName", r#""refs/heads/master""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.updated.2.json",
        "fabrikam.fabrikam.git.pullrequest.updated",
        "pullrequests/1",
        &[
            ("/pullRequestId", r#"1"#),
            ("/status", r#""completed""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""53d54ac915144006c2c9e90d2c7d3880920db49c""#,
            ),
            ("/createdBy/name", r#""Jamal Hartnett""#),
            ("/creationDate", r#""2014-06-17T16:55:46.589889Z""#),
            ("/closedDate", r#""2014-06-30T18:59:12.3660573Z""#),
            ("/reviewers/0/name", r#""[Mobile]\\Mobile Team""#),
            ("/reviewers/0/vote", r#"0"#),
            ("/sourceRefName", r#""refs/heads/mytopic""#),
            ("/targetRefName", r#""refs/heads/master""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.updated.3.json",
        "fabrikam.fabrikam.git.pullrequest.updated",
        "pullrequests/1",
        &[
            ("/pullRequestId", r#"1"#),
            ("/status", r#""completed""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""53d54ac915144006c2c9e90d2c7d3880920db49c""#,
            ),
            ("/createdBy/name", r#""Jamal Hartnett""#),
            ("/creationDate", r#""2014-06-17T16:55:46.589889Z""#),
            ("/closedDate", r#""2014-06-30T18:59:12.3660573Z""#),
            ("/reviewers/0/name", r#""[Mobile]\\Mobile Team""#),
            ("/reviewers/0/vote", r#"0"#),
            ("/sourceRefName", r#""refs/heads/mytopic""#),
            ("/targetRefName", r#""refs/heads/master""#),
        ],
    ),
    Expect::new(
        "git.pullrequest.updated.json",
        "dependabot.core.git.pullrequest.updated",
        "pullrequests/22568",
        &[
            ("/pullRequestId", r#"22568"#),
            ("/status", r#""completed""#),
            ("/isDraft", r#"false"#),
            (
                "/lastMergeSourceCommit",
                r#""6258a2efa589c277ed97e3246b6a59faf0e29859""#,
            ),
            ("/createdBy/name", r#""dependabot""#),
            ("/creationDate", r#""2023-01-18T02:05:34.3260021Z""#),
            ("/closedDate", r#""2023-01-18T04:03:21.203845Z""#),
            ("/reviewers/0/name", r#""Maxwell Weru""#),
            ("/reviewers/0/vote", r#"10"#),
            (
                "/sourceRefName",
                r#""refs/heads/dependabot/nuget/Tingle.EventBus.Transports.InMemory-0.18.0""#,
            ),
            ("/targetRefName", r#""refs/heads/main""#),
        ],
    ),
    Expect::new(
        "git.push.2.json",
        "dependabot.core.git.push",
        "repositories/e502622f-ac2b-4635-bec7-5e43d8865f71/pushes/34770",
        &[
            ("/pushId", r#"34770"#),
            ("/pushedBy/email", r#""example@contoso.com""#),
            ("/date", r#""2020-12-23T02:04:47.3801166Z""#),
            (
                "/repository/id",
                r#""e502622f-ac2b-4635-bec7-5e43d8865f71""#,
            ),
            (
                "/refUpdates/0/name",
                r#""refs/heads/dependabot/npm_and_yarn/webpack-merge-5.7.3""#,
            ),
            (
                "/refUpdates/0/oldObjectId",
                r#""0000000000000000000000000000000000000000""#,
            ),
            (
                "/refUpdates/0/newObjectId",
                r#""aaf58235f187b26d98a1ad66b6d094501f311afe""#,
            ),
            ("/refUpdates/0/change", r#""create""#),
            (
                "/commits/0/commitId",
                r#""aaf58235f187b26d98a1ad66b6d094501f311afe""#,
            ),
            ("/commits/0/author/name", r#""dependabot[bot]""#),
            ("/commitCount", r#"1"#),
        ],
    ),
    Expect::new(
        "git.push.3.json",
        "dependabot.core.git.push",
        "repositories/d5bb1147-bd9f-4ae1-8554-aec3d164f94c/pushes/34772",
        &[
            ("/pushId", r#"34772"#),
            ("/pushedBy/email", r#""example@contoso.com""#),
            ("/date", r#""2020-12-23T05:47:12.0015512Z""#),
            (
                "/repository/id",
                r#""d5bb1147-bd9f-4ae1-8554-aec3d164f94c""#,
            ),
            ("/refUpdates/0/name", r#""refs/heads/main""#),
            (
                "/refUpdates/0/oldObjectId",
                r#""dd6ba920a4b4243162033737c0a1abbd937f4c40""#,
            ),
            (
                "/refUpdates/0/newObjectId",
                r#""b8a410b1b75ecb203fb5dda54adce2f9d2c87a27""#,
            ),
            ("/refUpdates/0/change", r#""update""#),
            (
                "/commits/0/commitId",
                r#""b8a410b1b75ecb203fb5dda54adce2f9d2c87a27""#,
            ),
            ("/commits/0/author/name", r#""Maxwell Weru""#),
            ("/commitCount", r#"2"#),
        ],
    ),
    Expect::new(
        "git.push.4.json",
        "openagile.commitstream.git.push",
        "repositories/b0ba0a13-2b94-4af5-81d3-a0b5cf8fd437/pushes/5",
        &[
            ("/pushId", r#"5"#),
            ("/pushedBy/email", r#""gruesso@hotmail.com""#),
            ("/date", r#""2016-03-10T15:42:30.7577822Z""#),
            (
                "/repository/id",
                r#""b0ba0a13-2b94-4af5-81d3-a0b5cf8fd437""#,
            ),
            ("/refUpdates/0/name", r#""refs/heads/master""#),
            (
                "/refUpdates/0/oldObjectId",
                r#""dc5c58fa815298c24ec1d51608a6d485a9d345dc""#,
            ),
            (
                "/refUpdates/0/newObjectId",
                r#""42bf55b256c46f716f0192e9216f1db5c37ea1f2""#,
            ),
            ("/refUpdates/0/change", r#""update""#),
            (
                "/commits/0/commitId",
                r#""42bf55b256c46f716f0192e9216f1db5c37ea1f2""#,
            ),
            ("/commits/0/author/name", r#""Daniel Gruesso""#),
            ("/commitCount", r#"1"#),
        ],
    ),
    Expect::new(
        "git.push.6.json",
        "goodcompany.project.git.push",
        "repositories/7aa31685-abcf-40be-8c18-aaa45067d7bb/pushes/1168",
        &[
            ("/pushId", r#"1168"#),
            ("/date", r#""2016-06-26T18:10:30.065511Z""#),
            (
                "/repository/id",
                r#""7aa31685-abcf-40be-8c18-aaa45067d7bb""#,
            ),
            ("/refUpdates/0/name", r#""refs/heads/master""#),
            (
                "/refUpdates/0/oldObjectId",
                r#""61b7353aa151d2d7d4e4dac8f701b0d82ff87703""#,
            ),
            (
                "/refUpdates/0/newObjectId",
                r#""c8e823a60a85381732726d6a9b6a276e71e6ce12""#,
            ),
            ("/refUpdates/0/change", r#""update""#),
            (
                "/commits/0/commitId",
                r#""c8e823a60a85381732726d6a9b6a276e71e6ce12""#,
            ),
            ("/commits/0/author/name", r#""John Smith""#),
            ("/commitCount", r#"1"#),
        ],
    ),
    Expect::new(
        "git.push.7.json",
        "fabrikam-fiber-inc.fabrikam-fiber-git.git.push",
        "repositories/278d5cd2-584d-4b63-824a-2ba458937249/pushes/14",
        &[
            ("/pushId", r#"14"#),
            ("/date", r#""2014-05-02T19:17:13.3309587Z""#),
            (
                "/repository/id",
                r#""278d5cd2-584d-4b63-824a-2ba458937249""#,
            ),
            ("/refUpdates/0/name", r#""refs/heads/main""#),
            (
                "/refUpdates/0/oldObjectId",
                r#""aad331d8d3b131fa9ae03cf5e53965b51942618a""#,
            ),
            (
                "/refUpdates/0/newObjectId",
                r#""33b55f7cb7e7e245323987634f960cf4a6e6bc74""#,
            ),
            ("/refUpdates/0/change", r#""update""#),
            (
                "/commits/0/commitId",
                r#""33b55f7cb7e7e245323987634f960cf4a6e6bc74""#,
            ),
            ("/commits/0/author/name", r#""Jamal Hartnett""#),
            ("/commitCount", r#"1"#),
        ],
    ),
    Expect::new(
        "ms.vss-code.git-pullrequest-comment-event.2.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2.fabrikam.git.pullrequest.commented",
        "pullrequests/1/threads/5/comments/2",
        &[
            ("/pullRequestId", r#"1"#),
            ("/threadId", r#"5"#),
            ("/commentId", r#"2"#),
            ("/author/name", r#""Jamal Hartnett""#),
            ("/content", r#""This is my comment.""#),
            ("/lastUpdatedDate", r#""2014-06-17T16:58:33.123889Z""#),
        ],
    ),
    Expect::new(
        "ms.vss-code.git-pullrequest-comment-event.3.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2._.git.pullrequest.commented",
        "pullrequests/1/threads/5/comments/2",
        &[
            ("/pullRequestId", r#"1"#),
            ("/threadId", r#"5"#),
            ("/commentId", r#"2"#),
            ("/author/name", r#""Jamal Hartnett""#),
            ("/content", r#""This is my comment.""#),
            ("/lastUpdatedDate", r#""2014-06-17T16:58:33.123889Z""#),
        ],
    ),
    Expect::new(
        "ms.vss-code.git-pullrequest-comment-event.json",
        "dependabot.core.git.pullrequest.commented",
        "pullrequests/22568/threads/109903/comments/1",
        &[
            ("/pullRequestId", r#"22568"#),
            ("/threadId", r#"109903"#),
            ("/commentId", r#"1"#),
            ("/author/name", r#""dependabot""#),
            ("/content", r#""Deployment to your Review App succeeded.""#),
            ("/lastUpdatedDate", r#""2023-01-21T13:54:51.827Z""#),
        ],
    ),
    Expect::new(
        "ms.vss-pipelinechecks-events.approval-completed.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2._.pipeline.approval.completed",
        "approvals/0f027b05-0942-4a35-9218-26fa07d8760a",
        &[
            ("/approvalId", r#""0f027b05-0942-4a35-9218-26fa07d8760a""#),
            ("/status", r#""approved""#),
            ("/steps/0/status", r#""approved""#),
            ("/minRequiredApprovers", r#"2"#),
        ],
    ),
    Expect::new(
        "ms.vss-pipelinechecks-events.approval-pending.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2._.pipeline.approval.pending",
        "approvals/0f027b05-0942-4a35-9218-26fa07d8760a",
        &[
            ("/approvalId", r#""0f027b05-0942-4a35-9218-26fa07d8760a""#),
            ("/status", r#""pending""#),
            ("/steps/0/status", r#""pending""#),
            ("/minRequiredApprovers", r#"2"#),
        ],
    ),
    Expect::new(
        "ms.vss-pipelines.job-state-changed-event.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2._.pipeline.job.state_changed",
        "runs/2/jobs/__default/__default",
        &[
            ("/runId", r#"2"#),
            ("/jobName", r#""__default""#),
            ("/state", r#""completed""#),
            ("/result", r#""succeeded""#),
            ("/startTime", r#""2022-11-21T16:42:52.7761408Z""#),
            ("/finishTime", r#""2022-11-21T16:42:52.7761408Z""#),
        ],
    ),
    Expect::new(
        "ms.vss-pipelines.run-state-changed-event.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2._.pipeline.run.state_changed",
        "runs/11",
        &[
            ("/runId", r#"11"#),
            ("/state", r#""completed""#),
            ("/result", r#""succeeded""#),
            ("/finishedDate", r#""2019-12-13T04:46:13.613Z""#),
            ("/pipeline/name", r#""TEST-CI""#),
        ],
    ),
    Expect::new(
        "ms.vss-pipelines.stage-state-changed-event.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2._.pipeline.stage.state_changed",
        "runs/2/stages/__default",
        &[
            ("/runId", r#"2"#),
            ("/stageName", r#""__default""#),
            ("/state", r#""completed""#),
            ("/result", r#""succeeded""#),
        ],
    ),
    Expect::new(
        "ms.vss-release.deployment-completed-event.json",
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2.fabrikam.release.deployment.completed",
        "releases/1/environments/5",
        &[
            ("/environment/id", r#"5"#),
            ("/environment/name", r#""Dev""#),
            ("/release/id", r#"1"#),
            ("/status", r#""succeeded""#),
        ],
    ),
    Expect::new(
        "tfvc.checkin.2.json",
        "testsystem._.tfvc.checkin",
        "changesets/22",
        &[
            ("/changesetId", r#"22"#),
            ("/author/name", r#""Sally Ann Cavanaugh""#),
            ("/checkedInBy/email", r#""scavanaugh@nowhere.com""#),
            ("/createdDate", r#""2017-03-08T20:54:34Z""#),
            (
                "/teamProjectIds",
                r#"["70cf8e3a-3ee1-4127-95d2-7f2563e5dc9e", "fdc49ee6-ec19-43a4-bd08-55800484b342"]"#,
            ),
        ],
    ),
    Expect::new(
        "tfvc.checkin.4.json",
        "defaultcollection._.tfvc.checkin",
        "changesets/4",
        &[
            ("/changesetId", r#"4"#),
            ("/author/name", r#""versionone""#),
            ("/createdDate", r#""2017-07-26T16:57:33Z""#),
            (
                "/teamProjectIds",
                r#"["4428d01a-0a75-4cc6-aaea-cb9664bf113f"]"#,
            ),
        ],
    ),
    Expect::new(
        "tfvc.checkin.5.json",
        "defaultcollection._.tfvc.checkin",
        "changesets/18",
        &[
            ("/changesetId", r#"18"#),
            ("/author/name", r#""John Smith""#),
            ("/checkedInBy/email", r#""fabrikamfiber16@hotmail.com""#),
            ("/createdDate", r#""2014-05-12T22:41:16Z""#),
            ("/teamProjectIds", r#"[]"#),
        ],
    ),
    Expect::new(
        "tfvc.checkin.json",
        "v1platformtest._.tfvc.checkin",
        "changesets/17",
        &[
            ("/changesetId", r#"17"#),
            ("/author/name", r#""Josh Gough""#),
            ("/checkedInBy/email", r#""jsgough@gmail.com""#),
            ("/createdDate", r#""2017-01-20T16:28:45Z""#),
            (
                "/teamProjectIds",
                r#"["b70385b4-ae0f-4afd-b166-6aff62bfd0b0"]"#,
            ),
        ],
    ),
    Expect::new(
        "workitem.commented.2.json",
        "defaultcollection.goodcompanycloud.workitem.commented",
        "workitems/5",
        &[
            ("/workItemId", r#"5"#),
            ("/rev", r#"4"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""New""#),
            ("/reason", r#""New defect reported""#),
            ("/title", r#""Some great new idea!""#),
            ("/changedBy/name", r#""Jamal Hartnett""#),
            ("/changedDate", r#""2014-07-15T17:42:44.663Z""#),
            ("/comment", r#""This is a great new idea""#),
        ],
    ),
    Expect::new(
        "workitem.commented.3.json",
        "fabrikam-fiber-inc.fabrikamcloud.workitem.commented",
        "workitems/5",
        &[
            ("/workItemId", r#"5"#),
            ("/rev", r#"4"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""New""#),
            ("/reason", r#""New defect reported""#),
            ("/title", r#""Some great new idea!""#),
            ("/changedBy/name", r#""Jamal Hartnett""#),
            ("/changedDate", r#""2014-07-15T17:42:44.663Z""#),
            ("/comment", r#""This is a great new idea""#),
        ],
    ),
    Expect::new(
        "workitem.created.json",
        "defaultcollection.goodcompanycloud.workitem.created",
        "workitems/5",
        &[
            ("/workItemId", r#"5"#),
            ("/rev", r#"1"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""New""#),
            ("/reason", r#""New defect reported""#),
            ("/title", r#""Some great new idea!""#),
            ("/changedBy/name", r#""Jamal Hartnett""#),
            ("/changedDate", r#""2014-07-15T17:42:44.663Z""#),
        ],
    ),
    Expect::new(
        "workitem.deleted.json",
        "defaultcollection.goodcompanycloud.workitem.deleted",
        "workitems/5",
        &[
            ("/workItemId", r#"5"#),
            ("/rev", r#"1"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""New""#),
            ("/reason", r#""New defect reported""#),
            ("/title", r#""Some great new idea!""#),
            ("/changedBy/name", r#""Jamal Hartnett""#),
            ("/changedDate", r#""2014-07-15T17:42:44.663Z""#),
        ],
    ),
    Expect::new(
        "workitem.restored.json",
        "defaultcollection.goodcompanycloud.workitem.restored",
        "workitems/5",
        &[
            ("/workItemId", r#"5"#),
            ("/rev", r#"1"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""New""#),
            ("/reason", r#""New defect reported""#),
            ("/title", r#""Some great new idea!""#),
            ("/changedBy/name", r#""Jamal Hartnett""#),
            ("/changedDate", r#""2014-07-15T17:42:44.663Z""#),
        ],
    ),
    Expect::new(
        "workitem.updated.2.json",
        "ouno.virtual-currency.workitem.updated",
        "workitems/13",
        &[
            ("/workItemId", r#"13"#),
            ("/rev", r#"2"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""Approved""#),
            ("/reason", r#""Approved by the Product Owner""#),
            ("/title", r#""创建一个bug""#),
            ("/changedBy/name", r#""欧俊""#),
            ("/changedDate", r#""2021-08-07T15:41:50.23Z""#),
            ("/changes/System.State/oldValue", r#""New""#),
            ("/changes/System.State/newValue", r#""Approved""#),
            ("/linkOnly", r#"false"#),
        ],
    ),
    Expect::new(
        "workitem.updated.3.json",
        "defaultcollection.goodcompanycloud.workitem.updated",
        "workitems/5",
        &[
            ("/workItemId", r#"5"#),
            ("/rev", r#"2"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""New""#),
            ("/reason", r#""New defect reported""#),
            ("/title", r#""Some great new idea!""#),
            ("/changedBy/name", r#""Jamal Hartnett""#),
            ("/changedDate", r#""2014-07-15T16:48:44.663Z""#),
            ("/changes/System.State/oldValue", r#""New""#),
            ("/changes/System.State/newValue", r#""Approved""#),
            ("/linkOnly", r#"false"#),
        ],
    ),
    Expect::new(
        "project:git.push.branch-deleted.json",
        "dependabot.core.git.push",
        "repositories/e502622f-ac2b-4635-bec7-5e43d8865f71/pushes/34781",
        &[
            ("/pushId", r#"34781"#),
            ("/pushedBy/email", r#""example@contoso.com""#),
            ("/date", r#""2020-12-24T09:30:00.5Z""#),
            (
                "/repository/id",
                r#""e502622f-ac2b-4635-bec7-5e43d8865f71""#,
            ),
            (
                "/refUpdates/0/name",
                r#""refs/heads/dependabot/npm_and_yarn/webpack-merge-5.7.3""#,
            ),
            (
                "/refUpdates/0/oldObjectId",
                r#""aaf58235f187b26d98a1ad66b6d094501f311afe""#,
            ),
            (
                "/refUpdates/0/newObjectId",
                r#""0000000000000000000000000000000000000000""#,
            ),
            ("/refUpdates/0/change", r#""delete""#),
            ("/commitCount", r#"0"#),
        ],
    ),
    Expect::new(
        "project:git.push.none-resource.json",
        "dependabot._.ado.passthrough",
        "events/2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f7a",
        &[
            ("/eventType", r#""git.push""#),
            ("/adoEventId", r#""2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f7a""#),
        ],
    ),
    Expect::new(
        "project:git.repo.created.unknown-type.json",
        "dependabot._.ado.passthrough",
        "events/8e3a1f2b-51c4-4d4e-a6f2-7b2c9d0e1f23",
        &[
            ("/eventType", r#""git.repo.created""#),
            ("/adoEventId", r#""8e3a1f2b-51c4-4d4e-a6f2-7b2c9d0e1f23""#),
        ],
    ),
    Expect::new(
        "project:ms.vss-pipelines.stage-state-changed-event.named-stage.json",
        "fabrikamfiber.fabrikam-fiber.pipeline.stage.state_changed",
        "runs/812/stages/5b5d4c3a-2e1f-4a6b-9c8d-7e6f5a4b3c2d",
        &[
            ("/runId", r#"812"#),
            ("/stageName", r#""Deploy""#),
            ("/state", r#""completed""#),
            ("/result", r#""failed""#),
        ],
    ),
    Expect::new(
        "project:ms.vss-release.deployment-started-event.json",
        "fabfiber.fabrikam-fiber-git.release.deployment.started",
        "releases/7/environments/5",
        &[
            ("/environment/id", r#"5"#),
            ("/environment/name", r#""Dev""#),
            ("/release/id", r#"7"#),
            ("/status", r#""inProgress""#),
        ],
    ),
    Expect::new(
        "project:workitem.updated.link-only.json",
        "fabrikam.myagilepro1.workitem.updated",
        "workitems/1",
        &[
            ("/workItemId", r#"1"#),
            ("/rev", r#"2"#),
            ("/workItemType", r#""Bug""#),
            ("/state", r#""New""#),
            ("/reason", r#""New""#),
            ("/title", r#""Hello""#),
            ("/changedBy/name", r#""Jamal Hartnett""#),
            ("/changedDate", r#""2017-09-04T02:28:56.253Z""#),
            ("/linkOnly", r#"true"#),
            ("/relations/added/0/workItemId", r#"2"#),
        ],
    ),
    Expect::new(
        "project:workitem.updated.minimal.json",
        "ouno._.ado.passthrough",
        "events/c9d2e3f4-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
        &[
            ("/eventType", r#""workitem.updated""#),
            ("/adoEventId", r#""c9d2e3f4-1a2b-4c3d-8e4f-5a6b7c8d9e0f""#),
        ],
    ),
];
