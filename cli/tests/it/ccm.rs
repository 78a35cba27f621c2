//! kapstan and Kapsule's cloud controller (CCM) on one load balancer, in the sandbox: after
//! `up`, several CCM sync cycles change nothing kapstan declared (drift exits 0, the next plan
//! is a no-op), a Service kapstan does not know about cannot make `down` leave anything, and a
//! PersistentVolumeClaim's block volume stops `down` before phase infra, naming it, until
//! `--delete-volumes` deletes it.

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::{Project, objects, text, tools_bin};

fn get(url: &str) -> Value {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-H",
            &format!("x-auth-token: {}", kapstan_sandbox::DEFAULT_SECRET_KEY),
            url,
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn up(p: &Project) {
    p.up_in_sandbox("dev");
}

#[test]
fn drift_and_plan_stay_clean_across_ccm_syncs() {
    let p = Project::new();
    up(&p);
    {
        let served = p.serve_recorded("20");
        served.wait_for_ccm_syncs(4);
        let o = p.run_against(&served, &["drift", "--env", "dev", "--detailed-exitcode"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "drift after CCM syncs:\n{}",
            text(&o)
        );
        let doc = get(&format!("{}/sandbox/v1/resources", served.url));
        let lb = &objects(&doc, "lb.lb")[0];
        assert_eq!(
            lb["ssl_compatibility_level"], "ssl_compatibility_level_modern",
            "{lb:#}"
        );
        // The controller made the coder Service's frontend and backend, named after its uid.
        let frontends = objects(&doc, "lb.frontend");
        assert_eq!(frontends.len(), 1, "{frontends:#?}");
        assert!(frontends[0]["name"].as_str().unwrap().ends_with("_tcp_80"));
    }
    p.up_plans_nothing("dev", "no flip-flop");
}

#[test]
fn down_removes_a_load_balancer_the_ccm_made_for_a_foreign_service() {
    let p = Project::new();
    up(&p);
    let kubeconfig = p.home.path().join(".kube/config-coder-dev");
    let lb_id;
    {
        let served = p.serve_recorded("20");
        // A user's own LoadBalancer Service, without kapstan's annotations.
        let svc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "grafana", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "grafana"},
                "ports": [{"port": 3000, "targetPort": 3000}]}});
        let file = p.dir.path().join("svc.json");
        std::fs::write(&file, svc.to_string()).unwrap();
        let o = Command::new(tools_bin().join("kubectl"))
            .args(["apply", "-f", file.to_str().unwrap()])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        served.wait_for_ccm_syncs(2);
        let doc = get(&format!("{}/sandbox/v1/resources", served.url));
        let lbs = objects(&doc, "lb.lb");
        let ccm: Vec<&Value> = lbs.iter().filter(|l| l["name"] != "coder-dev-lb").collect();
        assert_eq!(ccm.len(), 1, "one CCM load balancer: {lbs:#?}");
        lb_id = ccm[0]["id"].as_str().unwrap().to_string();
    }
    let o = p.run(&["down", "--env", "dev", "--sandbox", "--confirm"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains(&lb_id),
        "down names the load balancer it removed: {t}"
    );
    let served = p.serve_recorded("20");
    let doc = get(&format!("{}/sandbox/v1/resources", served.url));
    let (code, _) = {
        let o = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
            .arg(format!(
                "x-auth-token: {}",
                kapstan_sandbox::DEFAULT_SECRET_KEY
            ))
            .arg(format!("{}/lb/v1/zones/fr-par-1/lbs/{lb_id}", served.url))
            .output()
            .unwrap();
        (String::from_utf8_lossy(&o.stdout).to_string(), ())
    };
    assert_eq!(code, "404", "the CCM load balancer {lb_id} is gone");
    for kind in [
        "lb.lb",
        "lb.ip",
        "lb.frontend",
        "lb.backend",
        "lb.private_network",
        "vpc.private_network",
        "k8s.cluster",
    ] {
        assert!(
            objects(&doc, kind).is_empty(),
            "{kind} left behind: {doc:#}"
        );
    }
}

fn kubectl(p: &Project, args: &[&str]) -> Output {
    Command::new(tools_bin().join("kubectl"))
        .args(args)
        .env("KUBECONFIG", p.home.path().join(".kube/config-coder-dev"))
        .output()
        .unwrap()
}

/// The CSI volumes of the served sandbox's cluster: (volumeHandle, claim namespace/name).
fn csi_volumes(p: &Project) -> Vec<(String, String)> {
    let o = kubectl(p, &["get", "pv", "-o", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pv| pv["spec"]["csi"]["driver"] == "csi.scaleway.com")
        .map(|pv| {
            let c = &pv["spec"]["claimRef"];
            (
                pv["spec"]["csi"]["volumeHandle"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                format!(
                    "{}/{}",
                    c["namespace"].as_str().unwrap_or_default(),
                    c["name"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect()
}

#[test]
fn down_stops_before_deleting_a_cluster_with_csi_volumes_and_deletes_them_when_asked() {
    let p = Project::new();
    up(&p);
    let handle;
    {
        let _served = p.serve_recorded("20");
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "grafana-data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "scw-bssd",
                "resources": {"requests": {"storage": "10Gi"}}}});
        let file = p.dir.path().join("pvc.json");
        std::fs::write(&file, pvc.to_string()).unwrap();
        let o = kubectl(&p, &["apply", "-f", file.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let vols = csi_volumes(&p);
        assert_eq!(
            vols.len(),
            1,
            "the CSI driver provisioned one volume: {vols:?}"
        );
        assert_eq!(vols[0].1, "default/grafana-data");
        handle = vols[0].0.clone();
        assert!(handle.starts_with("fr-par-1/"), "{handle}");
    }
    let o = p.run(&["down", "--env", "dev", "--sandbox", "--auto-approve"]);
    let t = text(&o);
    assert!(!o.status.success(), "down must stop over the volume: {t}");
    for want in [
        handle.as_str(),
        "default/grafana-data",
        "10Gi",
        "--delete-volumes",
    ] {
        assert!(t.contains(want), "the error names {want}: {t}");
    }
    {
        // Phase infra is untouched: the cluster, its pool and the volume are all there.
        let served = p.serve_recorded("20");
        let doc = get(&format!("{}/sandbox/v1/resources", served.url));
        for kind in ["k8s.cluster", "k8s.pool", "vpc.private_network", "lb.lb"] {
            assert_eq!(objects(&doc, kind).len(), 1, "{kind} kept: {doc:#}");
        }
        assert!(!objects(&doc, "kube.object").is_empty(), "{doc:#}");
        assert_eq!(csi_volumes(&p).len(), 1);
    }
    let o = p.run_line("down --env dev --sandbox --auto-approve --delete-volumes");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains(&handle), "down names the volume it deleted: {t}");
    let served = p.serve_recorded("20");
    let doc = get(&format!("{}/sandbox/v1/resources", served.url));
    for kind in [
        "k8s.cluster",
        "k8s.pool",
        "lb.lb",
        "vpc.private_network",
        "kube.object",
    ] {
        assert!(
            objects(&doc, kind).is_empty(),
            "{kind} left behind: {doc:#}"
        );
    }
}
