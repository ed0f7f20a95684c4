//! Scheduling profiles from a `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1).
//!
//! Each profile is a `schedulerName` with its plugins per extension point. As upstream, the
//! default plugins are enabled at `multiPoint`; a profile's `plugins` disable some (or `*`)
//! and enable others, at `multiPoint` or at one extension point, with score weights; a
//! plugin's `pluginConfig` args configure it (NodeResourcesFit's scoring strategy, …).

use serde_json::Value;

use super::plugins::Plugin;
use super::plugins::{self, Point, DEFAULT_PLUGINS};

pub const DEFAULT_SCHEDULER: &str = "default-scheduler";

pub struct Profile {
    pub scheduler_name: String,
    pub plugins: Vec<Box<dyn Plugin>>,
    pub pre_filter: Vec<usize>,
    pub filter: Vec<usize>,
    pub pre_score: Vec<usize>,
    /// `(plugin, weight)`.
    pub score: Vec<(usize, i64)>,
    pub pre_bind: Vec<usize>,
    /// DefaultPreemption is enabled at PostFilter.
    pub preemption: bool,
    pub min_candidate_nodes_percentage: usize,
    pub min_candidate_nodes_absolute: usize,
    /// `percentageOfNodesToScore` (0: the adaptive default).
    pub percentage_of_nodes_to_score: usize,
    /// Names for the decision records.
    pub filter_names: Vec<&'static str>,
    pub score_legend: Vec<(&'static str, i64)>,
}

/// The whole configuration: its profiles, in order.
pub struct SchedulerConfig {
    pub profiles: Vec<Profile>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            profiles: vec![Profile::default_scheduler()],
        }
    }
}

/// One extension point's list: `(plugin name, weight)` in order.
type PointList = Vec<(String, i64)>;

/// Applies a `PluginSet` (`{enabled: [...], disabled: [...]}`) to a list (`mergePlugins`).
fn merge(list: &mut PointList, set: &Value, what: &str) -> Result<(), String> {
    for d in set["disabled"].as_array().into_iter().flatten() {
        match d["name"].as_str() {
            Some("*") => list.clear(),
            Some(name) => list.retain(|(n, _)| n != name),
            None => {}
        }
    }
    for (i, e) in set["enabled"].as_array().into_iter().flatten().enumerate() {
        let name = e["name"].as_str().unwrap_or_default();
        if plugins::points(name).is_none() {
            return Err(format!(
                "{what}.enabled[{i}]: plugin \"{name}\" does not exist"
            ));
        }
        let weight = e["weight"].as_i64().unwrap_or(0);
        match list.iter_mut().find(|(n, _)| n == name) {
            Some(entry) if weight > 0 => entry.1 = weight,
            Some(_) => {}
            None => list.push((name.to_string(), weight)),
        }
    }
    Ok(())
}

impl Profile {
    /// The `default-scheduler` profile: the default plugins with their default weights.
    pub fn default_scheduler() -> Profile {
        // The defaults are valid by construction.
        Profile::from_config(&Value::Null, 0, 0).unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// A profile from its `KubeSchedulerProfile` document (`index` for error paths).
    pub fn from_config(doc: &Value, index: usize, global_pct: usize) -> Result<Profile, String> {
        let path = format!("profiles[{index}].plugins");
        let lists = point_lists(doc, &path)?;
        let args_of = |name: &str| -> &Value {
            doc["pluginConfig"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["name"] == name)
                .map_or(&Value::Null, |c| &c["args"])
        };
        let mut profile = Profile {
            scheduler_name: doc["schedulerName"]
                .as_str()
                .unwrap_or(DEFAULT_SCHEDULER)
                .to_string(),
            plugins: Vec::new(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
            pre_bind: Vec::new(),
            preemption: lists[2].iter().any(|(n, _)| n == "DefaultPreemption"),
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
            percentage_of_nodes_to_score: doc["percentageOfNodesToScore"]
                .as_u64()
                .map_or(global_pct, |p| p as usize),
            filter_names: Vec::new(),
            score_legend: Vec::new(),
        };
        let preemption_args = args_of("DefaultPreemption");
        if let Some(p) = preemption_args["minCandidateNodesPercentage"].as_u64() {
            profile.min_candidate_nodes_percentage = p as usize;
        }
        if let Some(a) = preemption_args["minCandidateNodesAbsolute"].as_u64() {
            profile.min_candidate_nodes_absolute = a as usize;
        }
        // One instance per plugin, shared by its extension points.
        let mut names: Vec<String> = Vec::new();
        let mut slot = |profile: &mut Profile, name: &str| -> Result<Option<usize>, String> {
            if let Some(i) = names.iter().position(|n| n == name) {
                return Ok(Some(i));
            }
            match plugins::build(name, args_of(name)).map_err(|e| format!("{path}: {e}"))? {
                Some(p) => {
                    profile.plugins.push(p);
                    names.push(name.to_string());
                    Ok(Some(profile.plugins.len() - 1))
                }
                None => Ok(None),
            }
        };
        for (n, _) in &lists[0] {
            if let Some(i) = slot(&mut profile, n)? {
                profile.pre_filter.push(i);
            }
        }
        for (n, _) in &lists[1] {
            if let Some(i) = slot(&mut profile, n)? {
                profile.filter.push(i);
            }
        }
        for (n, _) in &lists[3] {
            if let Some(i) = slot(&mut profile, n)? {
                profile.pre_score.push(i);
            }
        }
        for (n, w) in &lists[4] {
            if let Some(i) = slot(&mut profile, n)? {
                profile.score.push((i, (*w).max(1)));
            }
        }
        for (n, _) in &lists[5] {
            if let Some(i) = slot(&mut profile, n)? {
                profile.pre_bind.push(i);
            }
        }
        profile.filter_names = profile
            .filter
            .iter()
            .map(|i| profile.plugins[*i].name())
            .collect();
        profile.score_legend = profile
            .score
            .iter()
            .map(|(i, w)| (profile.plugins[*i].name(), *w))
            .collect();
        Ok(profile)
    }
}

/// Each extension point's plugins and weights (PreFilter, Filter, PostFilter, PreScore, Score,
/// PreBind): the defaults, changed by `multiPoint`, then by the point's own enable/disable.
fn point_lists(doc: &Value, path: &str) -> Result<[PointList; 6], String> {
    let mut multi: PointList = DEFAULT_PLUGINS
        .iter()
        .map(|(n, w)| (n.to_string(), *w))
        .collect();
    merge(
        &mut multi,
        &doc["plugins"]["multiPoint"],
        &format!("{path}.multiPoint"),
    )?;
    let at = |point: Point, key: &str| -> Result<PointList, String> {
        let mut list: PointList = multi
            .iter()
            .filter(|(n, _)| plugins::points(n).is_some_and(|p| p.contains(&point)))
            .cloned()
            .collect();
        merge(&mut list, &doc["plugins"][key], &format!("{path}.{key}"))?;
        if let Some((name, _)) = list
            .iter()
            .find(|(n, _)| !plugins::points(n).is_some_and(|p| p.contains(&point)))
        {
            return Err(format!(
                "{path}.{key}: plugin \"{name}\" does not extend {key}"
            ));
        }
        Ok(list)
    };
    Ok([
        at(Point::PreFilter, "preFilter")?,
        at(Point::Filter, "filter")?,
        at(Point::PostFilter, "postFilter")?,
        at(Point::PreScore, "preScore")?,
        at(Point::Score, "score")?,
        at(Point::PreBind, "preBind")?,
    ])
}

impl SchedulerConfig {
    /// Parses a `KubeSchedulerConfiguration` document (YAML or JSON).
    pub fn parse(text: &str) -> Result<SchedulerConfig, String> {
        let doc: Value = apimachinery::yaml::from_str(text).map_err(|e| e.to_string())?;
        SchedulerConfig::from_value(&doc)
    }

    pub fn from_value(doc: &Value) -> Result<SchedulerConfig, String> {
        if doc["apiVersion"] != "kubescheduler.config.k8s.io/v1"
            || doc["kind"] != "KubeSchedulerConfiguration"
        {
            return Err(format!(
                "no kind \"{}\" is registered for version \"{}\": expected KubeSchedulerConfiguration in kubescheduler.config.k8s.io/v1",
                doc["kind"].as_str().unwrap_or_default(),
                doc["apiVersion"].as_str().unwrap_or_default()
            ));
        }
        let global_pct = doc["percentageOfNodesToScore"].as_u64().unwrap_or(0) as usize;
        if global_pct > 100 {
            return Err(format!(
                "percentageOfNodesToScore: Invalid value: {global_pct}: not in valid range [0-100]"
            ));
        }
        let docs = doc["profiles"].as_array().cloned().unwrap_or_default();
        let docs = if docs.is_empty() {
            vec![Value::Null]
        } else {
            docs
        };
        let mut profiles: Vec<Profile> = Vec::new();
        for (i, p) in docs.iter().enumerate() {
            let profile = Profile::from_config(p, i, global_pct)?;
            if profiles
                .iter()
                .any(|q| q.scheduler_name == profile.scheduler_name)
            {
                return Err(format!(
                    "profiles[{i}].schedulerName: Duplicate value: \"{}\"",
                    profile.scheduler_name
                ));
            }
            profiles.push(profile);
        }
        Ok(SchedulerConfig { profiles })
    }

    pub fn profile(&self, scheduler_name: &str) -> Option<usize> {
        self.profiles
            .iter()
            .position(|p| p.scheduler_name == scheduler_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_has_upstream_plugins_and_weights() {
        let p = Profile::default_scheduler();
        assert_eq!(
            p.filter_names,
            [
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "VolumeBinding",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
        assert_eq!(
            p.score_legend,
            [
                ("TaintToleration", 3),
                ("NodeAffinity", 2),
                ("NodeResourcesFit", 1),
                ("PodTopologySpread", 2),
                ("InterPodAffinity", 2),
                ("NodeResourcesBalancedAllocation", 1),
                ("ImageLocality", 1)
            ]
        );
        assert!(p.preemption);
    }

    #[test]
    fn profiles_enable_disable_and_weigh() {
        let cfg = SchedulerConfig::parse(
            r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  plugins:
    score:
      disabled: [{name: "*"}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
    postFilter:
      disabled: [{name: DefaultPreemption}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy: {type: MostAllocated}
"#,
        )
        .unwrap();
        assert_eq!(cfg.profiles.len(), 2);
        let packing = &cfg.profiles[cfg.profile("bin-packing").unwrap()];
        assert_eq!(packing.score_legend, [("NodeResourcesFit", 5)]);
        assert!(!packing.preemption);
        assert_eq!(packing.filter_names.len(), 9);
    }

    #[test]
    fn bad_configurations_are_refused_with_the_field() {
        let bad = |yaml: &str| SchedulerConfig::parse(yaml).err().unwrap();
        let head = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";
        assert_eq!(
            bad(&format!(
                "{head}profiles:\n- plugins:\n    score:\n      enabled: [{{name: Nope}}]\n"
            )),
            "profiles[0].plugins.score.enabled[0]: plugin \"Nope\" does not exist"
        );
        assert_eq!(
            bad(&format!(
                "{head}profiles:\n- plugins:\n    score:\n      enabled: [{{name: NodeName}}]\n"
            )),
            "profiles[0].plugins.score: plugin \"NodeName\" does not extend score"
        );
        assert_eq!(
            bad(&format!("{head}profiles:\n- {{}}\n- {{}}\n")),
            "profiles[1].schedulerName: Duplicate value: \"default-scheduler\""
        );
        assert!(bad("kind: Deployment\n").starts_with("no kind \"Deployment\""));
    }
}
