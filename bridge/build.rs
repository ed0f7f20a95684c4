//! Compiles the project's `.proto` files with protox (a protobuf compiler in Rust: nothing to
//! install):
//! - the CRI client and the CSI server and client from kubeplay's own descriptions
//!   (`proto/cri`, `proto/csi`), generated as Rust by tonic-prost-build;
//! - Kubernetes' vendored `generated.proto` files (`proto/k8s.io`) into one descriptor set,
//!   which the door reads at run time with prost-reflect to decode kubectl's protobuf bodies.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/cri/runtime.proto", "proto/csi/csi.proto"];
    println!("cargo:rerun-if-changed=proto");
    let files = protox::compile(protos, ["proto/cri", "proto/csi"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(files)?;

    let k8s: Vec<String> = ["authentication", "authorization", "autoscaling", "batch"]
        .iter()
        .chain(&[
            "apps",
            "coordination",
            "core",
            "policy",
            "rbac",
            "scheduling",
            "storage",
        ])
        .map(|group| format!("k8s.io/api/{group}/v1/generated.proto"))
        .collect();
    let k8s = protox::compile(&k8s, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("k8s-api.bin");
    std::fs::write(out, k8s.encode_to_vec())?;
    Ok(())
}
