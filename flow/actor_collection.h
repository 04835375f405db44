#pragma once
// ActorCollection — owns a changing set of background actors and reports their failures.
//
// add() takes an actor's future; the collection keeps it (so the actor keeps running) until it
// ends, then forgets it. get_result() fails with the first error any member ends with, and, when
// the collection was made with return_when_empty, is ready with Void once the collection becomes
// empty after an add. Destroying the collection cancels every member still running.

#include <cstddef>

#include "flow/detail/intrusive_list.h"
#include "flow/future.h"

namespace flow {

class ActorCollection {
 public:
  explicit ActorCollection(bool return_when_empty = false);
  ~ActorCollection();
  ActorCollection(const ActorCollection&) = delete;
  ActorCollection& operator=(const ActorCollection&) = delete;

  void add(Future<Void> actor);
  Future<Void> get_result() const { return result_.get_future(); }
  size_t size() const { return members_.size(); }

 private:
  struct MemberTag {};
  struct Member;
  static void member_done(detail::Waiter* w);
  void finish(Member* m);

  bool return_when_empty_;
  Promise<Void> result_;
  detail::IntrusiveList<Member, MemberTag> members_;
};

}  // namespace flow
