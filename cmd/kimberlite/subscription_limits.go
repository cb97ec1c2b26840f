package main

import (
	"flag"
	"fmt"

	"github.com/kimberlite/libkimberlite/engine/server"
)

// subscriptionLimits are the flags bounding how many subscriptions clients may hold open.
type subscriptionLimits struct {
	perConn, total *int
}

func subscriptionLimitFlags(fs *flag.FlagSet) *subscriptionLimits {
	return &subscriptionLimits{
		perConn: fs.Int("max-subscriptions-per-conn", server.DefaultMaxSubscriptionsPerConn, "at most `N` subscriptions open at once on one connection; beyond it Subscribe gets RateLimited"),
		total:   fs.Int("max-subscriptions", server.DefaultMaxSubscriptions, "at most `N` subscriptions open at once across all connections"),
	}
}

func (l *subscriptionLimits) check() error {
	if *l.perConn < 1 || *l.total < 1 {
		return fmt.Errorf("--max-subscriptions-per-conn and --max-subscriptions must be at least 1, got %d and %d", *l.perConn, *l.total)
	}
	return nil
}

func (l *subscriptionLimits) apply(o *server.Options) {
	o.MaxSubscriptionsPerConn = *l.perConn
	o.MaxSubscriptions = *l.total
}
