//! `CycleState`: what plugins compute for one pod in one cycle and read back at later
//! extension points. Each plugin keeps its own typed entry under its name; preemption clones
//! the whole state to imagine a node without some pods.

use std::any::Any;

/// A plugin's entry: any `Clone` type qualifies.
pub trait StateData: Any + Send {
    fn clone_box(&self) -> Box<dyn StateData>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send> StateData for T {
    fn clone_box(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[derive(Default)]
pub struct CycleState {
    entries: Vec<(&'static str, Box<dyn StateData>)>,
    /// Plugins whose PreFilter answered Skip: their Filter is not run this cycle.
    skip_filter: Vec<&'static str>,
    /// Plugins whose PreScore answered Skip: their Score is not run.
    skip_score: Vec<&'static str>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            entries: self
                .entries
                .iter()
                .map(|(k, v)| (*k, (**v).clone_box()))
                .collect(),
            skip_filter: self.skip_filter.clone(),
            skip_score: self.skip_score.clone(),
        }
    }
}

impl CycleState {
    pub fn write<T: StateData>(&mut self, plugin: &'static str, value: T) {
        match self.entries.iter_mut().find(|(k, _)| *k == plugin) {
            Some(e) => e.1 = Box::new(value),
            None => self.entries.push((plugin, Box::new(value))),
        }
    }

    pub fn read<T: StateData>(&self, plugin: &'static str) -> Option<&T> {
        self.entries
            .iter()
            .find(|(k, _)| *k == plugin)
            .and_then(|(_, v)| (**v).as_any().downcast_ref())
    }

    pub fn get_mut<T: StateData>(&mut self, plugin: &'static str) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find(|(k, _)| *k == plugin)
            .and_then(|(_, v)| (**v).as_any_mut().downcast_mut())
    }

    pub fn skip_filter(&mut self, plugin: &'static str) {
        self.skip_filter.push(plugin);
    }

    pub fn filter_skipped(&self, plugin: &'static str) -> bool {
        self.skip_filter.contains(&plugin)
    }

    pub fn skip_score(&mut self, plugin: &'static str) {
        self.skip_score.push(plugin);
    }

    pub fn score_skipped(&self, plugin: &'static str) -> bool {
        self.skip_score.contains(&plugin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_typed_and_cloned_deeply() {
        let mut s = CycleState::default();
        s.write("A", vec![1, 2]);
        let mut copy = s.clone();
        copy.get_mut::<Vec<i32>>("A").unwrap().push(3);
        assert_eq!(s.read::<Vec<i32>>("A"), Some(&vec![1, 2]));
        assert_eq!(copy.read::<Vec<i32>>("A"), Some(&vec![1, 2, 3]));
        assert_eq!(s.read::<String>("A"), None);
    }
}
