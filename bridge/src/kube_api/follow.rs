//! `kubectl logs -f`: after the log so far, the door keeps looking at the container's log
//! (four times a second) and sends what was added, until the container stops running or the
//! pod goes — or the client hangs up. The first answer took the API server's pipeline
//! (authentication, RBAC's `get pods/log`, audit); the looks after it are the same read.

use std::time::Duration;

use axum::body::Bytes;
use futures_util::Stream;

use super::{read_remote_log, Door};
use kubeplay_core::apiserver::request::Query;
use kubeplay_core::apiserver::{Delegated, Request};

const LOOK_EVERY: Duration = Duration::from_millis(250);

/// A followed container: namespace, pod, container (if named).
pub struct Target {
    namespace: String,
    pod: String,
    container: Option<String>,
}

/// The container a `GET …/pods/<pod>/log?follow=true` follows, if it is one.
pub fn followed(request: &Request) -> Option<Target> {
    let query = Query::parse(&request.query);
    if !query.flag("follow") {
        return None;
    }
    let parts: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let ["api", "v1", "namespaces", ns, "pods", pod, "log"] = parts.as_slice() else {
        return None;
    };
    Some(Target {
        namespace: ns.to_string(),
        pod: pod.to_string(),
        container: query
            .get("container")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    })
}

pub fn stream(
    door: Door,
    target: Target,
    first: Vec<u8>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(
        (door, target, Some(first), 0usize),
        |(door, target, first, sent)| async move {
            if let Some(first) = first {
                let sent = first.len();
                return Some((Ok(Bytes::from(first)), (door, target, None, sent)));
            }
            let mut sent = sent;
            loop {
                tokio::time::sleep(LOOK_EVERY).await;
                let look = door.lock().follow_log(
                    &target.namespace,
                    &target.pod,
                    target.container.as_deref(),
                );
                let (mut answer, running) = look?;
                if let Some(Delegated::RemoteLog { node, path }) = answer.delegated.take() {
                    answer = read_remote_log(&door, &node, path).await;
                }
                let text = answer.bytes().into_owned();
                if text.len() > sent {
                    let added = text[sent..].to_vec();
                    sent = text.len();
                    return Some((Ok(Bytes::from(added)), (door, target, None, sent)));
                }
                if !running {
                    return None;
                }
            }
        },
    )
}
