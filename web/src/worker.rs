//! The Web Worker side of a large cluster: it owns the [`Engine`] and answers each request
//! the page posts (a JSON [`Op`]) with a JSON [`Reply`]. The page's thread only draws.
//!
//! The worker runs the page's own wasm module: the page starts it from a small module script
//! that imports the same JavaScript glue and calls [`run`] (exported as `worker_main` by the
//! binary). It says `ready` once it listens, so nothing the page sends is lost.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::large::{Engine, Op, Reply};

/// The message a worker posts when it listens.
pub const READY: &str = "ready";

/// Answers one request; `engine` is made by `Start`.
pub fn answer(engine: &mut Option<Engine>, request: &str) -> Reply {
    match Op::from_json(request) {
        Ok(Op::Start { nodes, seed }) => {
            let started = engine.insert(Engine::start(nodes, seed));
            started.handle(&Op::Advance { ms: 0 })
        }
        Ok(Op::Open { scenario }) => match Engine::open(&scenario) {
            Ok(opened) => engine.insert(opened).handle(&Op::Advance { ms: 0 }),
            Err(e) => Reply {
                output: format!("The shared scenario could not be opened: {e}"),
                ..Reply::default()
            },
        },
        Ok(op) => match engine.as_mut() {
            Some(e) => e.handle(&op),
            None => Reply {
                output: "the cluster has not started yet".into(),
                ..Reply::default()
            },
        },
        Err(e) => Reply {
            output: format!("a request the worker does not understand: {e}"),
            ..Reply::default()
        },
    }
}

/// Listens for the page's requests (call once, in the worker).
pub fn run() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let engine = Rc::new(RefCell::new(None::<Engine>));
    let replies = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(request) = e.data().as_string() else {
            return;
        };
        let reply = answer(&mut engine.borrow_mut(), &request);
        let text = reply.to_json();
        let _ = replies.post_message(&JsValue::from_str(&text));
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page: so does its handler.
    on_message.forget();
    let _ = scope.post_message(&JsValue::from_str(READY));
}
